"""`billtracker publish`: a consistent, compact snapshot of the live database for read replicas.

Datasette's immutable mode (-i) skips locking and change checks, which makes it the right mode
for public replicas, but it ignores whatever is still in the WAL: a replica must serve a copy
made with VACUUM INTO (one transaction: consistent even while a crawl writes, WAL folded in,
no free pages). The copy is written beside the target and renamed into place, so a replica
restarted mid-publish never opens half a file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import click

from billtracker.cli.options import DEFAULT_DB
from billtracker.serve.datasette import datasette_args
from billtracker.serve.snapshot import optimize, vacuum_into

# Operator-only tables: webhook targets, delivery records, digest recipients (addresses) and who
# unsubscribed (address keys) are not open data. Datasette already denies them; a public
# snapshot must not carry them at all.
PRIVATE_TABLES = ("subscriptions", "deliveries", "digest_sends", "unsubscribes")


def publish_snapshot(db: Path, out: Path) -> dict[str, int]:
    """A compacted VACUUM INTO copy at out (atomically replaced); returns its size and bill count."""
    if not db.exists():
        raise click.ClickException(f"no database at {db}")
    tmp = out.with_name(out.name + ".publishing")
    tmp.unlink(missing_ok=True)
    vacuum_into(db, tmp)
    snapshot = sqlite3.connect(tmp)
    try:
        drop_private_rows(snapshot)
        optimize(snapshot)  # one segment per full-text index, 16 KB pages (billtracker/serve/snapshot.py)
        check = snapshot.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise click.ClickException(f"snapshot {tmp} failed integrity_check: {check}")
        snapshot.execute("PRAGMA journal_mode = DELETE")  # a replica reads one file, no WAL
        bills = snapshot.execute("SELECT count(*) FROM bills").fetchone()[0]
    finally:
        snapshot.close()
    os.replace(tmp, out)
    return {"bytes": out.stat().st_size, "bills": bills}


def drop_private_rows(snapshot: sqlite3.Connection) -> None:
    """Empty the operator-only tables, their bytes overwritten (secure_delete), so the file a
    replica or a CDN serves holds no target URL, secret reference or email address."""
    snapshot.execute("PRAGMA secure_delete = ON")
    present = {r[0] for r in snapshot.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    with snapshot:
        for table in PRIVATE_TABLES:
            if table in present:
                snapshot.execute(f'DELETE FROM "{table}"')


def replica_args(snapshot: str, port: int, host: str, metadata: Path) -> list[str]:
    """`billtracker serve`'s Datasette command, with the snapshot opened immutable (-i)."""
    args = datasette_args(snapshot, port, host, metadata)
    at = args.index(snapshot)
    return args[:at] + ["-i", snapshot] + args[at + 1 :]


@click.command()
@click.option("--db", default=DEFAULT_DB, show_default=True, help="The live database.")
@click.option("--out", required=True, help="Snapshot file to (re)write, e.g. /srv/billtracker/billtracker.db")
def publish(db: str, out: str) -> None:
    """Write a VACUUM INTO snapshot of the database for immutable read replicas.

    \b
    Example:
        billtracker publish --db billtracker.db --out /srv/billtracker/billtracker.db
    """
    result = publish_snapshot(Path(db), Path(out))
    click.echo(f"{out}: {result['bills']} bills, {result['bytes'] / 1e6:.1f} MB", err=True)
    click.echo(
        "serve it with: " + " ".join(replica_args(out, 8001, "127.0.0.1", Path("metadata.json"))[1:]),
        err=True,
    )


def register(cli: click.Group) -> None:
    cli.add_command(publish)


__all__ = ["PRIVATE_TABLES", "drop_private_rows", "publish", "publish_snapshot", "register", "replica_args"]
