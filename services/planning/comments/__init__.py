"""Comments on territories, scenarios and change requests: the discussion behind a realignment."""
