"""One generated organisation for the demo tests (generating takes seconds)."""

from datetime import date

import pytest

from demo.generate import DemoOrganisation, generate

SEED = 11
ANCHOR = date(2026, 11, 1)


@pytest.fixture(scope="session")
def organisation() -> DemoOrganisation:
    return generate(SEED, anchor=ANCHOR)
