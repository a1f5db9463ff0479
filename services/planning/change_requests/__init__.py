"""Change requests: a scenario proposed for publication, approved or rejected by an approver."""
