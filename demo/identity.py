"""What names the demo and its version: light on imports, so the admin command line can check
the demo tenant without loading the generator's geography stack."""

DEFAULT_SEED = 2027
ORGANISATION = "Peachtree & Pines Software"
# Bumped whenever the generator changes what it produces: a loaded demo of another version is
# replaced by the next `make run`.
GENERATOR_VERSION = 1
DEMO_SLUG = "demo"
NEW_TENANT_NAME = "Demo Sales Org"
ALIGNMENT_NAME = "FY27 Southeast"
SCENARIO_NAME = "FY28 Southeast rebalanced"


def finished_name(seed: int) -> str:
    """The demo tenant's name once a load has finished: the marker ``demo.tenant`` checks (the
    tenant's display name is the one field this needs, without a schema change for a
    development convenience)."""
    return f"{ORGANISATION} (demo v{GENERATOR_VERSION}, seed {seed})"
