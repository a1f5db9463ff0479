"""Platform settings read from the environment (prefix ``TERRITORY_``)."""

from functools import lru_cache

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_NAMES = ("assignment", "planning", "proximity", "metrics")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TERRITORY_", extra="ignore")

    database_url: str = Field(
        default="postgresql://territory@127.0.0.1:54329/territory",
        validation_alias=AliasChoices("TERRITORY_DATABASE_URL", "DATABASE_URL"),
    )
    # The services assume this role at connect (a startup parameter: no round trip). It owns
    # nothing, is no superuser and so is held to row-level security; the login role of
    # ``database_url`` must be a member (or a superuser). Empty: stay the login role (only for
    # a login role that is itself such a role).
    database_role: str = Field(default="territory_app", pattern=r"^[a-z_][a-z0-9_]*$|^$")
    # Migrations and the admin command line: the tables' owner, across tenants. Defaults to
    # ``database_url`` (logged in as the owner, without ``database_role``).
    migration_database_url: str | None = None
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

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str | None) -> str | None:
        """Accept libpq URLs (what psql and Alembic users type) and use the asyncpg driver."""
        if value is None:
            return None
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        raise ValueError("DATABASE_URL must be a postgresql:// URL")

    @property
    def libpq_database_url(self) -> str:
        """The database URL without the SQLAlchemy driver suffix, for asyncpg and psql."""
        return self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    @property
    def owner_database_url(self) -> str:
        """Where migrations and the admin command line connect (SQLAlchemy URL)."""
        return self.migration_database_url or self.database_url

    @property
    def libpq_owner_database_url(self) -> str:
        return self.owner_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    def server_settings(self, application_name: str, **settings: str) -> dict[str, str]:
        """Startup parameters of a service connection: its name and the role it acts as."""
        result = {"application_name": application_name, **settings}
        if self.database_role:
            result["role"] = self.database_role
        return result

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
