"""Command line of the demo organisation.

python -m demo load [--seed N] [--gateway-url URL] [--api-key TOKEN]
    fill the key's tenant (the demo tenant `shared.cli ensure-demo` prepared) through the
    running platform; does nothing when that tenant already holds this seed's finished demo
python -m demo summary [--seed N] [--anchor YYYY-MM-01]
    generate only and print what the organisation holds
"""

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import date

from demo.identity import DEFAULT_SEED, finished_name

# The database, HTTP and geography stacks are imported by the command that needs them: each
# costs seconds to import on a busy machine, and `load` is a no-op on every `make run` but the
# first.


def _say(message: str) -> None:
    print(f"  demo: {message}", file=sys.stderr)


async def _tenant_of_key(token: str) -> tuple[uuid.UUID, str]:
    from sqlalchemy import select

    from shared import api_keys
    from shared.db import create_engine, create_sessionmaker
    from shared.models import Tenant
    from shared.settings import get_settings

    settings = get_settings()
    engine = create_engine(settings, application_name="demo", as_owner=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            key = await api_keys.find_valid_key(session, token)
            if key is None:
                raise SystemExit("error: the API key is unknown, revoked or expired")
            name = await session.scalar(select(Tenant.name).where(Tenant.id == key.tenant_id))
            return key.tenant_id, name or ""
    finally:
        await engine.dispose()


async def _load(args: argparse.Namespace) -> int:
    if not args.gateway_url or not args.api_key:
        raise SystemExit("error: give --gateway-url and --api-key (or GATEWAY_URL and API_KEY)")
    tenant_id, tenant_name = await _tenant_of_key(args.api_key)
    if tenant_name == finished_name(args.seed):
        _say(f"already loaded ({tenant_name})")
        return 0
    started = time.monotonic()
    import httpx

    from demo.generate import generate
    from demo.load import load
    from shared.settings import get_settings

    organisation = generate(args.seed)
    _say(f"generated seed {args.seed} in {time.monotonic() - started:.1f} s")
    settings = get_settings()
    async with httpx.AsyncClient(
        base_url=args.gateway_url, headers={"X-API-Key": args.api_key}, timeout=120.0
    ) as client:
        await load(
            organisation,
            client=client,
            database_url=settings.libpq_owner_database_url,
            tenant_id=tenant_id,
            scenario_seconds=args.scenario_seconds,
            progress=_say,
        )
    _say(f"loaded in {time.monotonic() - started:.1f} s")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from demo.generate import generate

    anchor = date.fromisoformat(args.anchor) if args.anchor else None
    organisation = generate(args.seed, anchor=anchor)
    print(f"seed           {organisation.seed}")
    print(f"anchor         {organisation.anchor.isoformat()}")
    for name, count in organisation.counts.items():
        print(f"{name:<14} {count:>7,}")
    print(f"fingerprint    {organisation.fingerprint()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="load the demo through the running platform")
    summary = commands.add_parser("summary", help="print what the demo holds")
    for command in (load, summary):
        command.add_argument(
            "--seed", type=int, default=int(os.environ.get("DEMO_SEED", DEFAULT_SEED))
        )
    summary.add_argument(
        "--anchor", default="", help="first day of the month the history runs up to (default: now)"
    )
    load.add_argument("--gateway-url", default=os.environ.get("GATEWAY_URL", ""))
    load.add_argument("--api-key", default=os.environ.get("API_KEY", ""))
    load.add_argument(
        "--scenario-seconds", type=float, default=8.0, help="the design engine's time budget"
    )
    args = parser.parse_args(argv)
    if args.command == "summary":
        return _summary(args)
    return asyncio.run(_load(args))


if __name__ == "__main__":
    sys.exit(main())
