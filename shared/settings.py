"""Platform settings read from the environment (prefix ``TERRITORY_``)."""

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

SERVICE_NAMES = ("assignment", "planning", "proximity", "metrics")
DEFAULT_DATABASE_URL = "postgresql://territory@127.0.0.1:54329/territory"
# Passwords that ship in this repository (compose's fallback, the Secret example) or that any
# scanner tries first: never acceptable in production.
_DEFAULT_PASSWORDS = frozenset(
    {"territory", "postgres", "password", "secret", "change-me", "changeme", "admin"}
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TERRITORY_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
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
    # How long opening a database connection may take before the request gets a 503: a server
    # that accepts TCP but does not answer (frozen, overloaded, half a network partition) would
    # otherwise hold every request for asyncpg's default of 60 s.
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

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
    # Three: the webhook delivery pump holds one slot while any tenant has a subscription.
    worker_concurrency: int = Field(default=3, ge=1, le=32)
    worker_heartbeat_seconds: float = Field(default=5.0, gt=0, le=60)
    worker_stalled_seconds: float = Field(default=20.0, gt=0, le=300)
    worker_shutdown_seconds: float = Field(default=60.0, ge=0, le=3600)
    # The worker has no HTTP app: its Prometheus registry is served on this port (0: not served).
    worker_metrics_port: int = Field(default=9100, ge=0, le=65535)
    job_max_attempts: int = Field(default=3, ge=1, le=10)

    # Webhook deliveries (services/assignment/webhooks/pump.py), by one pump on the worker: an
    # attempt waits at most webhook_timeout_seconds for a 2xx; a failed one is retried after
    # webhook_backoff_seconds * 2^(attempt-1) (at most webhook_backoff_max_seconds, with
    # jitter) and dead-lettered after webhook_max_attempts; at most
    # webhook_subscription_concurrency deliveries per subscription in flight (one per
    # ordering key); new events are looked for every webhook_poll_seconds; a pump hands over
    # to a fresh one after webhook_pump_seconds.
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_backoff_seconds: float = Field(default=2.0, gt=0, le=3600)
    webhook_backoff_max_seconds: float = Field(default=900.0, gt=0, le=86400)
    webhook_subscription_concurrency: int = Field(default=4, ge=1, le=64)
    webhook_poll_seconds: float = Field(default=0.2, gt=0, le=10)
    webhook_pump_seconds: float = Field(default=60.0, ge=1, le=3600)

    log_level: str = "INFO"
    log_json: bool = True

    # --- Deployment safety and abuse limits (ratelimit) ---
    # production refuses to start with a default or missing secret (see _no_default_secrets).
    environment: Literal["development", "test", "production"] = "development"
    # Failed API-key lookups per client address and process before further unknown keys from
    # that address are answered 429 without a database lookup, for the rest of the window.
    auth_failure_limit: int = Field(default=20, ge=1)
    auth_failure_window_seconds: float = Field(default=60.0, gt=0, le=3600)
    # OpenTelemetry span export over OTLP/HTTP, configured by the standard OTEL_* variables
    # (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER...). Off, trace context still propagates.
    otel_enabled: bool = False

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

    @model_validator(mode="after")
    def _no_default_secrets(self) -> "Settings":
        """Outside development and tests, a default or missing secret is a deployment mistake."""
        if self.environment != "production":
            return self
        url = make_url(self.libpq_database_url)
        problems = []
        if url == make_url(DEFAULT_DATABASE_URL):
            problems.append("DATABASE_URL is the development default")
        elif not url.password:
            problems.append("DATABASE_URL has no password")
        elif url.password.lower() in _DEFAULT_PASSWORDS:
            problems.append(f"DATABASE_URL's password is a well-known default ({url.password!r})")
        if problems:
            raise ValueError(
                "refusing to start with TERRITORY_ENVIRONMENT=production: "
                + "; ".join(problems)
                + ". Set DATABASE_URL (or TERRITORY_DATABASE_URL) to a URL with the real "
                "password from your secret manager, e.g. "
                "postgresql://territory:<password>@db.internal:5432/territory."
            )
        return self

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
