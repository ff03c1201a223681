"""`billtracker digest`: mail each digest of billtracker/digests.toml for its last complete
period (what the scheduler's `digest` job runs); running it twice sends nothing twice."""

from __future__ import annotations

from datetime import date

import click

from billtracker.alerts.digests import CONFIG_ENV, DEFAULT_DIGESTS, load_digests, send_digests
from billtracker.alerts.subscriptions import BadSubscription
from billtracker.cli.options import DEFAULT_DB


def register(cli: click.Group) -> None:
    cli.add_command(digest_command)


@click.command("digest")
@click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLite database file.")
@click.option(
    "--config",
    default=str(DEFAULT_DIGESTS),
    envvar=CONFIG_ENV,
    show_envvar=True,
    show_default="billtracker/digests.toml",
    help="The digests and the SMTP server (TOML); the unsubscribe page reads the same variable.",
)
@click.option(
    "--today", default=None, metavar="YYYY-MM-DD", help="Send as if today were this (Asia/Taipei) day."
)
def digest_command(db: str, config: str, today: str | None) -> None:
    """Mail every digest's last complete day or week of changes to its recipients.

    Nothing is sent for a period without changes, nor twice for the same period, nor to an
    address that unsubscribed through the digest's link (counted as unsubscribed).

    \b
    Example:
        billtracker digest --db billtracker.db
    """
    try:
        counts = send_digests(db, load_digests(config), date.fromisoformat(today) if today else None)
    except BadSubscription as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
    if counts["failed"]:
        raise click.ClickException(f"{counts['failed']} digest(s) not sent; they are tried again next run")
