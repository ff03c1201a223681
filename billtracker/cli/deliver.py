"""`billtracker deliver`: send the webhook events of docs/alerts.md (what the scheduler's
`deliver` job runs), once or in a loop; safe to kill at any point (the outbox is in SQLite)."""

from __future__ import annotations

import time

import click

from billtracker.alerts.subscriptions import DEFAULT_SUBSCRIPTIONS, BadSubscription
from billtracker.alerts.webhooks import Busy, Policy, deliver
from billtracker.cli.options import DEFAULT_DB


def register(cli: click.Group) -> None:
    cli.add_command(deliver_command)


@click.command("deliver")
@click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLite database file.")
@click.option(
    "--config",
    default=str(DEFAULT_SUBSCRIPTIONS),
    show_default="billtracker/subscriptions.toml",
    help="The webhook subscriptions (TOML).",
)
@click.option("--loop", type=float, default=None, metavar="SECONDS", help="Keep going: a pass every SECONDS.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for an answer.")
@click.option(
    "--backoff", type=float, default=30.0, show_default=True, help="Seconds before the first retry."
)
@click.option(
    "--max-backoff", type=float, default=3600.0, show_default=True, help="Longest wait between tries."
)
def deliver_command(
    db: str, config: str, loop: float | None, timeout: float, backoff: float, max_backoff: float
) -> None:
    """Queue every new change a subscribed watch concerns and POST it, signed, to its target.

    Retries with exponential backoff; an event a target acknowledged (2xx) is never sent again.

    \b
    Example:
        HOOK_SECRET_NEWSROOM=... billtracker deliver --db billtracker.db
    """
    policy = Policy(timeout, backoff, max_backoff)
    while True:
        try:
            counts = deliver(db, config, policy)
        except (BadSubscription, Busy) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
        if loop is None:
            return
        time.sleep(loop)
