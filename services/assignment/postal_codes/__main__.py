"""Load postal-code centroids into the database named by DATABASE_URL.

python -m services.assignment.postal_codes load-us
python -m services.assignment.postal_codes load-csv FILE --country XX [--skip-invalid]
"""

import argparse
import asyncio
import logging
import sys

import asyncpg

from services.assignment.postal_codes.loader import PostalCodeFileError, load_csv, load_us
from services.assignment.postal_codes.normalise import InvalidCountry
from shared.settings import get_settings


async def _run(arguments: argparse.Namespace) -> str:
    connection = await asyncpg.connect(get_settings().libpq_owner_database_url)
    try:
        if arguments.command == "load-us":
            loaded = await load_us(connection)
            return f"loaded {loaded} US postal codes"
        loaded = await load_csv(
            connection,
            arguments.file,
            country=arguments.country,
            skip_invalid=arguments.skip_invalid,
        )
        return f"loaded {loaded} {arguments.country.upper()} postal codes from {arguments.file}"
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.assignment.postal_codes",
        description="Load postal-code centroids (idempotent: a rerun refreshes them).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("load-us", help="every US ZIP code from the zipcodes package")
    from_csv = commands.add_parser(
        "load-csv",
        help="one country from a CSV with columns code,latitude,longitude[,place_name,admin_area]",
    )
    from_csv.add_argument("file")
    from_csv.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, e.g. DE")
    from_csv.add_argument(
        "--skip-invalid", action="store_true", help="load the good rows, warn about the bad ones"
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, format="%(message)s", level=logging.WARNING)
    try:
        message = asyncio.run(_run(arguments))
    except PostalCodeFileError as error:
        sys.stderr.write(f"error: {error.summary}\n")
        sys.stderr.writelines(f"  {problem}\n" for problem in error.problems)
        return 1
    except (InvalidCountry, OSError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    sys.stdout.write(message + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
