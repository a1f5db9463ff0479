"""Platform settings read from the environment (prefix ``TERRITORY_``)."""

from functools import lru_cache

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_NAMES = ("assignment", "planning", "proximity", "metrics")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TERRITORY_", extra="ignore")

    database_url: str = Field(
        default="postgresql://territory@127.0.0.1:54329/territory",
        validation_alias=AliasChoices("TERRITORY_DATABASE_URL", "DATABASE_URL"),
    )
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_echo: bool = False

    gateway_app_url: str = "http://127.0.0.1:8090"
    assignment_url: str = "http://127.0.0.1:8091"
    planning_url: str = "http://127.0.0.1:8092"
    proximity_url: str = "http://127.0.0.1:8093"
    metrics_url: str = "http://127.0.0.1:8094"

    # Keys are looked up at most once per this many seconds per process, which bounds how long a
    # revoked key keeps working.
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=5)

    http_timeout_seconds: float = 5.0
    # The lead hot path waits at most this long for a proximity ranking, then falls back to
    # round robin (and says so in the explanation).
    proximity_ranking_timeout_seconds: float = Field(default=0.15, gt=0, le=10)
    http_retries: int = Field(default=2, ge=0, le=5)

    # The job worker (shared/jobs): jobs run at once per worker process; a heartbeat every
    # worker_heartbeat_seconds; a job whose worker sent none for worker_stalled_seconds is
    # retried (or failed, after job_max_attempts); on SIGTERM running jobs get
    # worker_shutdown_seconds to finish, then go back to the queue.
    worker_concurrency: int = Field(default=2, ge=1, le=32)
    worker_heartbeat_seconds: float = Field(default=5.0, gt=0, le=60)
    worker_stalled_seconds: float = Field(default=20.0, gt=0, le=300)
    worker_shutdown_seconds: float = Field(default=60.0, ge=0, le=3600)
    job_max_attempts: int = Field(default=3, ge=1, le=10)

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str) -> str:
        """Accept libpq URLs (what psql and Alembic users type) and use the asyncpg driver."""
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        raise ValueError("DATABASE_URL must be a postgresql:// URL")

    @model_validator(mode="after")
    def _heartbeat_within_stall(self) -> "Settings":
        """A live worker must never look stalled: several heartbeats fit in the stall time."""
        if self.worker_heartbeat_seconds * 2 > self.worker_stalled_seconds:
            raise ValueError(
                "TERRITORY_WORKER_STALLED_SECONDS must be at least twice "
                "TERRITORY_WORKER_HEARTBEAT_SECONDS, or live workers' jobs would be retried"
            )
        return self

    @property
    def libpq_database_url(self) -> str:
        """The database URL without the SQLAlchemy driver suffix, for asyncpg and psql."""
        return self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    def service_url(self, name: str) -> str:
        urls = {
            "gateway": self.gateway_app_url,
            "assignment": self.assignment_url,
            "planning": self.planning_url,
            "proximity": self.proximity_url,
            "metrics": self.metrics_url,
        }
        return urls[name].rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
