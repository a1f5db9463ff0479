"""Admin command line: tenants, API keys and the demo tenant.

python -m shared.cli create-tenant --slug acme --name "Acme Inc."
python -m shared.cli create-key --tenant acme --scopes read,write [--name crm] [--rate-tier high]
python -m shared.cli list-keys --tenant acme
python -m shared.cli revoke-key --key-id UUID
python -m shared.cli ensure-demo [--existing-key TOKEN] [--seed N]
"""

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from demo.identity import DEFAULT_SEED
from demo.tenant import ensure_demo_tenant
from shared import api_keys
from shared.db import create_engine, create_sessionmaker
from shared.errors import AppError
from shared.models import ApiKey
from shared.settings import get_settings


async def _create_tenant(session: AsyncSession, args: argparse.Namespace) -> None:
    tenant = await api_keys.create_tenant(session, slug=args.slug, name=args.name)
    print(tenant.id)


async def _create_key(session: AsyncSession, args: argparse.Namespace) -> None:
    tenant = await api_keys.get_tenant_by_slug(session, args.tenant)
    issued = await api_keys.issue_key(
        session,
        tenant_id=tenant.id,
        name=args.name,
        scopes=args.scopes.split(","),
        rate_tier=args.rate_tier,
    )
    print(f"key id: {issued.key.id} (rate tier {issued.key.rate_tier})", file=sys.stderr)
    print("the token is shown only now; store it in your secret manager:", file=sys.stderr)
    print(issued.token)


async def _list_keys(session: AsyncSession, args: argparse.Namespace) -> None:
    tenant = await api_keys.get_tenant_by_slug(session, args.tenant)
    keys = await session.scalars(
        select(ApiKey).where(ApiKey.tenant_id == tenant.id).order_by(ApiKey.created_at)
    )
    for key in keys:
        state = "revoked" if key.revoked_at else "active"
        print(
            f"{key.id}  {key.prefix}…  {','.join(key.scopes):<17} {key.rate_tier:<8} "
            f"{state:<8} {key.name}"
        )


async def _revoke_key(session: AsyncSession, args: argparse.Namespace) -> None:
    await api_keys.revoke_key(session, key_id=uuid.UUID(args.key_id), tenant_id=None)
    print(f"revoked {args.key_id}", file=sys.stderr)


async def _ensure_demo(session: AsyncSession, args: argparse.Namespace) -> None:
    """Idempotent: the demo tenant exists afterwards, empty unless it holds a finished demo of
    this seed (``python -m demo load`` fills it once the platform is up); prints a working
    admin key."""
    tenant, _to_load = await ensure_demo_tenant(session, seed=args.seed)
    if args.existing_key:
        key = await api_keys.find_valid_key(session, args.existing_key)
        if key is not None and key.tenant_id == tenant.id:
            print(args.existing_key)
            return
    issued = await api_keys.issue_key(
        session, tenant_id=tenant.id, name="demo", scopes=["read", "write", "admin"]
    )
    print(issued.token)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared.cli", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    tenant = commands.add_parser("create-tenant", help="create a tenant")
    tenant.add_argument("--slug", required=True)
    tenant.add_argument("--name", required=True)
    tenant.set_defaults(handler=_create_tenant)
    key = commands.add_parser("create-key", help="issue an API key; prints the token once")
    key.add_argument("--tenant", required=True, help="tenant slug")
    key.add_argument("--scopes", default="read", help="comma-separated: read,write,admin")
    key.add_argument("--name", default="cli")
    key.add_argument(
        "--rate-tier",
        choices=sorted(api_keys.RATE_TIER_PREFIXES),
        default="standard",
        help="the gateway's request-rate limit for this key (README: Limits); to change it, "
        "issue a new key and revoke the old one",
    )
    key.set_defaults(handler=_create_key)
    listing = commands.add_parser("list-keys", help="list a tenant's keys (never the tokens)")
    listing.add_argument("--tenant", required=True, help="tenant slug")
    listing.set_defaults(handler=_list_keys)
    revoke = commands.add_parser("revoke-key", help="revoke a key (stops working within 5 s)")
    revoke.add_argument("--key-id", required=True)
    revoke.set_defaults(handler=_revoke_key)
    demo = commands.add_parser(
        "ensure-demo", help="create the demo tenant (emptied if it holds a stale demo) and key"
    )
    demo.add_argument("--existing-key", default="", help="reuse this token if still valid")
    demo.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="the demo's seed (python -m demo)"
    )
    demo.set_defaults(handler=_ensure_demo)
    return parser


async def _run(
    handler: Callable[[AsyncSession, argparse.Namespace], Awaitable[None]], args: argparse.Namespace
) -> None:
    # As the tables' owner (TERRITORY_MIGRATION_DATABASE_URL, else DATABASE_URL without the
    # services' role): tenants and keys are managed across tenants.
    engine = create_engine(get_settings(), application_name="cli", as_owner=True)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await handler(session, args)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_run(args.handler, args))
    except AppError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
