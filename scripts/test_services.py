"""Decide where `make test` runs and print the shell exports for it.

Postgres: DATABASE_URL if set, else 127.0.0.1:5432 when one answers. Redis: REDIS_URL
if set, else 127.0.0.1:6379 when one answers. Elsewhere the suite runs on SQLite and
without Redis, and says so. With CI=true both are required: missing is a failure.
"""

from __future__ import annotations

import os
import socket
import sys


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main() -> int:
    ci = os.environ.get("CI", "").lower() == "true"
    database_url = os.environ.get("DATABASE_URL") or (
        "postgres://postgres@127.0.0.1:5432/riskdesk" if answers("127.0.0.1", 5432) else ""
    )
    redis_url = os.environ.get("REDIS_URL") or ("redis://127.0.0.1:6379/0" if answers("127.0.0.1", 6379) else "")
    if ci and not (database_url.startswith("postgres") and redis_url):
        print(
            "CI=true needs Postgres and Redis: "
            f"Postgres {'found' if database_url else 'missing'}, Redis {'found' if redis_url else 'missing'}.",
            file=sys.stderr,
        )
        return 1
    print(
        f"make test: database {'Postgres' if database_url else 'SQLite (no Postgres answered)'}; "
        f"Redis {'reachable' if redis_url else 'not reachable: Redis tests skip'}",
        file=sys.stderr,
    )
    print(f"export DATABASE_URL='{database_url}'" if database_url else "unset DATABASE_URL")
    print(f"export RISKDESK_TEST_REDIS_URL='{redis_url}'" if redis_url else "unset RISKDESK_TEST_REDIS_URL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
