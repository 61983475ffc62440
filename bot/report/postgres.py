"""The PostgreSQL event log read by `legalbot report` through the same queries as the SQLite one."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, cast

import psycopg

from bot.config import safe_url
from bot.errors import BotError


class PostgresReader:
    """Looks like the sqlite3 connection build_report() reads: execute(sql with ?, params) -> rows."""

    def __init__(self, url: str) -> None:
        try:
            self._conn = psycopg.connect(url, connect_timeout=5, autocommit=True)
            self._conn.read_only = True
            tables = {row[0] for row in self._conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
        except psycopg.Error as exc:
            # The message names the host and the failure, never the password; the URL is shown redacted.
            raise BotError(f"LEGALBOT_DB {safe_url(url)} cannot be read: {type(exc).__name__}") from None
        if not {"events", "feedback"} <= tables:
            self._conn.close()
            raise BotError(f"LEGALBOT_DB {safe_url(url)} is not an event log: it has no events table; "
                           "run `legalbot serve` with it set to create one")

    def execute(self, sql: str, params: Sequence[object] = ()) -> psycopg.Cursor[Any]:
        return self._conn.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))

    def close(self) -> None:
        self._conn.close()


def open_postgres(url: str) -> sqlite3.Connection:
    """The event database in PostgreSQL, read-only, typed as what build_report() expects."""
    return cast(sqlite3.Connection, PostgresReader(url))
