"""The lead lifecycle: an assignment's status and history, listing, reassignment, preview."""
