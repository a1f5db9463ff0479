"""The job worker's settings: a live worker can never look stalled."""

import pytest
from pydantic import ValidationError

from shared.settings import Settings


def test_the_stall_time_must_hold_several_heartbeats() -> None:
    assert (
        Settings(worker_heartbeat_seconds=1, worker_stalled_seconds=4).worker_stalled_seconds == 4
    )
    with pytest.raises(ValidationError, match="at least twice TERRITORY_WORKER_HEARTBEAT_SECONDS"):
        Settings(worker_heartbeat_seconds=10, worker_stalled_seconds=15)
