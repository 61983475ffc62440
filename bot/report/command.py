"""`legalbot report`: the terminal tables, and with --html the page, for the last days of the event log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.config import Settings
from bot.errors import BotError, CatalogueError, ConfigError
from bot.report.page import render_page
from bot.report.summary import CST, build_report, format_terminal, open_readonly


def run_report(settings: Settings, *, days: int = 30, html: Path | None = None, now: datetime | None = None) -> int:
    """`legalbot report`: print the report for the last `days` days; with html, also write the page."""
    if settings.db_path is None and not settings.db_url:
        raise ConfigError("LEGALBOT_DB is not set: point it at the event database the bot writes")
    if days < 1:
        raise ConfigError(f"--days has value {days}: must be at least 1")
    try:
        catalogue: Catalogue | None = load_catalogue(settings.intents_dir, settings.content_dir)
    except CatalogueError:
        catalogue = None
    if settings.db_url:
        from bot.report.postgres import open_postgres  # psycopg only when the log is in PostgreSQL

        conn = open_postgres(settings.db_url)
    else:
        assert settings.db_path is not None
        conn = open_readonly(settings.db_path)
    try:
        report = build_report(conn, catalogue, end=now or datetime.now(CST), days=days)
    finally:
        conn.close()
    print(format_terminal(report))
    if html is not None:
        try:
            html.write_text(render_page(report), encoding="utf-8")
        except OSError as exc:
            raise BotError(f"cannot write {html}: {exc.strerror or exc}") from None
        print(f"\n已生成网页报告：{html}")
    return 0
