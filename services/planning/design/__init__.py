"""Territory design: the problem as arrays (``problem.py``) and the search that solves it."""
