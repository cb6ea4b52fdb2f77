"""Small dialect helpers for the hand-written set-based SQL (Postgres and SQLite)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def days_between(later: str, earlier: str) -> str:
    """SQL for the whole days from `earlier` to `later` (two date expressions)."""
    if is_postgres():
        return f"(({later})::date - ({earlier})::date)"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def days_before(day_sql: str, days_sql: str) -> str:
    """SQL for the date `days_sql` days before the date `day_sql`, on either backend."""
    if is_postgres():
        return f"({day_sql} - {days_sql})"
    return f"date({day_sql}, '-' || {days_sql} || ' days')"


def date_param(name: str | None = None) -> str:
    """A placeholder for a date parameter, typed on Postgres: positional, or named ("%(name)s")."""
    placeholder = f"%({name})s" if name else "%s"
    return f"{placeholder}::date" if is_postgres() else placeholder


def money(expression: str) -> str:
    """Round a money expression to the cent in SQL.

    Postgres numeric is exact; SQLite (the embedded demo only) computes decimals as
    floats, so every sum or difference is rounded back to the cent before use.
    """
    return f"ROUND({expression}, 2)"


def month_start(expression: str) -> str:
    """SQL for the first day of the month of a date expression."""
    if is_postgres():
        return f"date_trunc('month', {expression})::date"
    return f"date({expression}, 'start of month')"


def fetch_all(sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Run a query on the default connection and return all its rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> int:
    """Run a statement on the default connection and return the rows it touched."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount
