"""Long work of every service on one Postgres-backed queue (procrastinate): the app and its
tasks (``app.py``), the tenant-scoped job row they report to (``repository.py``), the database
session a job runs in (``connection.py``), stalled-job recovery and the worker process
(``worker.py``: ``python -m shared.jobs.worker``)."""
