"""Settings refuse default secrets in production, and only there."""

import subprocess
import sys

import pytest
from pydantic import ValidationError

from shared.settings import DEFAULT_DATABASE_URL, Settings
from tests.harness import REPO_ROOT, inherited_environment


@pytest.mark.parametrize(
    ("database_url", "reason"),
    [
        (DEFAULT_DATABASE_URL, "the development default"),
        ("postgresql://territory@db.internal:5432/territory", "has no password"),
        ("postgresql://territory:@db.internal:5432/territory", "has no password"),
        ("postgresql://territory:CHANGE-ME@db.internal/territory", "well-known default"),
        ("postgresql://territory:territory@db:5432/territory", "well-known default"),
    ],
)
def test_production_refuses_default_secrets(database_url: str, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(environment="production", database_url=database_url)
    message = str(raised.value)
    assert "TERRITORY_ENVIRONMENT=production" in message and reason in message
    assert "secret manager" in message


def test_production_refuses_the_default_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a container started without its Secret would do: no DATABASE_URL at all."""
    for name in ("DATABASE_URL", "TERRITORY_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERRITORY_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="development default"):
        Settings()


def test_production_accepts_a_real_password() -> None:
    url = "postgresql://territory:s3cr3t-from-vault@db.internal:5432/territory"
    settings = Settings(environment="production", database_url=url)
    assert settings.libpq_database_url == url


def test_a_production_service_refuses_to_start_without_its_secret() -> None:
    env = {**inherited_environment(), "TERRITORY_ENVIRONMENT": "production"}
    result = subprocess.run(
        [sys.executable, "-c", "import services.assignment.app"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "refusing to start with TERRITORY_ENVIRONMENT=production" in result.stderr


@pytest.mark.parametrize("environment", ["development", "test"])
def test_other_environments_keep_the_defaults(environment: str) -> None:
    settings = Settings.model_validate(
        {"environment": environment, "database_url": DEFAULT_DATABASE_URL}
    )
    assert settings.libpq_database_url == DEFAULT_DATABASE_URL


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError, match="development"):
        Settings.model_validate({"environment": "prod"})
