"""The procrastinate app every process shares: its connector, and every service's tasks.

API processes open it to defer jobs (and cancel them); the worker (``worker.py``) opens it to
run them. Its objects live in the ``procrastinate`` schema (migration ``5351158d7fde``).
"""

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from procrastinate import App, Blueprint, PsycopgConnector

from shared.settings import Settings

SCHEMA = "procrastinate"
# The blueprints of every service's tasks, each under its namespace (task names become
# "<namespace>:<task>"). A service adds its module here, and the worker runs its tasks.
BLUEPRINTS = {
    "jobs": "shared.jobs.recovery:blueprint",
    "assignment": "services.assignment.bulk.tasks:blueprint",
    "proximity": "services.proximity.matrix.tasks:blueprint",
    "proximity_ingest": "services.proximity.ingest.tasks:blueprint",
    "planning": "services.planning.scenarios.tasks:blueprint",
    "metrics": "services.metrics.ingest.tasks:blueprint",
    "webhooks": "services.assignment.webhooks.tasks:blueprint",
    "planning_units": "services.planning.units.tasks:blueprint",
}


def _blueprint(path: str) -> Blueprint:
    module, _, name = path.partition(":")
    blueprint: Blueprint = getattr(importlib.import_module(module), name)
    return blueprint


def create_app(settings: Settings, *, application_name: str, pool_size: int = 2) -> App:
    """The app (not yet open) with every service's tasks."""
    # As the services' role (shared/tenancy.py): the queue's tables are granted to it.
    role = f" -c role={settings.database_role}" if settings.database_role else ""
    connector = PsycopgConnector(
        conninfo=settings.libpq_database_url,
        min_size=1,
        max_size=pool_size,
        kwargs={
            "application_name": application_name,
            "options": f"-c search_path={SCHEMA},public{role}",
        },
    )
    app = App(connector=connector)
    for namespace, path in BLUEPRINTS.items():
        app.add_tasks_from(_blueprint(path), namespace=namespace)
    return app


@asynccontextmanager
async def open_jobs(settings: Settings, *, application_name: str) -> AsyncIterator[App]:
    """The app, open (its pool connected) for as long as the block runs."""
    app = create_app(settings, application_name=application_name)
    async with app.open_async():
        yield app


@asynccontextmanager
async def queue_resource(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """An API service's handle on the queue (to defer and cancel jobs), for its lifespan."""
    async with open_jobs(settings, application_name=f"{app.title.lower()}-queue") as queue:
        app.state.queue = queue
        yield


def get_queue(request: Request) -> App:
    queue: App = request.app.state.queue
    return queue


QueueDep = Annotated[App, Depends(get_queue)]
