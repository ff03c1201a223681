"""`billtracker serve` and `billtracker demo`: Datasette over the database, and the quick start."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from billtracker.cli.crawl import crawl
from billtracker.cli.options import DEFAULT_DB
from billtracker.serve.datasette import datasette_args, write_metadata_for


def register(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(demo)


@click.command()
@click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLite database to serve.")
@click.option("--port", default=8001, show_default=True, help="Port on --host.")
@click.option("--host", default="127.0.0.1", show_default=True)
def serve(db: str, port: int, host: str) -> None:
    """Serve the database with Datasette and datasette_metadata.json.

    \b
    Example:
        billtracker serve --db billtracker.db --port 8001
    """
    if not Path(db).exists():
        raise click.ClickException(f"no database at {db}: run `billtracker crawl --db {db}` first")
    metadata = write_metadata_for(db, Path(tempfile.mkdtemp(prefix="billtracker-")))
    args = datasette_args(db, port, host, metadata)
    click.echo(f"serving {db} on http://{host}:{port}", err=True)
    os.execv(args[0], args)


@click.command()
@click.option("--db", default=DEFAULT_DB, show_default=True)
@click.option("--port", default=8001, show_default=True)
@click.option(
    "--samples", default="", help="Samples folder (default $BILLTRACKER_SAMPLES, else ../shared/samples)."
)
@click.option("--no-serve", is_flag=True, help="Crawl only; do not start Datasette.")
def demo(db: str, port: int, samples: str, no_serve: bool) -> None:
    """Crawl the recorded responses into ./billtracker.db, then serve it on port 8001.

    \b
    Example:
        billtracker demo
    """
    ctx = click.get_current_context()
    ctx.invoke(crawl, spiders=(), db=db, replay_dir=samples, queries=(), today="")
    if not no_serve:
        ctx.invoke(serve, db=db, port=port, host="127.0.0.1")
