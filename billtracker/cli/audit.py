"""`billtracker audit`: every invariant checked on a database, loudly.

Registered on the `billtracker` group by billtracker/cli.py; the checks are in billtracker/audit.py.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
import sqlite_utils

from billtracker.audit import as_json, render_markdown, render_text, run_audit, today_in_taipei
from billtracker.cli.options import DEFAULT_DB


@click.command()
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, help="SQLite database to audit.")
@click.option("--json", "as_json_", is_flag=True, help="Print the result as JSON.")
@click.option("--markdown", is_flag=True, help="Print the tables of docs/fidelity.md (Markdown).")
@click.option("--today", default="", help='Judge "the term has ended" on this day (YYYY-MM-DD).')
def audit(db_path: str, as_json_: bool, markdown: bool, today: str) -> None:
    """Check every invariant of the data contract; exit 1 on any violation.

    Reads only: opens the database without migrating it, writes nothing.

    \b
    Example:
        billtracker audit --db billtracker.db
        billtracker audit --db term9.db --json
    """
    if not Path(db_path).is_file():
        raise click.ClickException(f"no database at {db_path}")
    db = sqlite_utils.Database(db_path)
    if "bills" not in db.table_names():
        raise click.ClickException(f"{db_path} is not a billtracker database (no bills table)")
    try:
        day = date.fromisoformat(today) if today else today_in_taipei()
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {today!r}", param_hint="--today") from None
    report = run_audit(db, day)
    if as_json_:
        click.echo(json.dumps(as_json(report), ensure_ascii=False, indent=2))
    elif markdown:
        click.echo(render_markdown(report), nl=False)
    else:
        click.echo(render_text(report), nl=False)
    if report.violations:
        raise click.ClickException(f"audit: {report.violations} violations in {len(report.failed)} checks")
    click.echo(f"audit: 0 violations in {len(report.results)} checks", err=True)


def register(group: click.Group) -> None:
    group.add_command(audit)
