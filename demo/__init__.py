"""The demo organisation `make run` loads: a US sales org on real geography, generated from a seed.

``generate`` builds it in memory (deterministic: same seed and anchor month, same organisation);
``load`` writes it into a tenant of the running platform; ``python -m demo`` is the command line.
"""
