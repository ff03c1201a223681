"""Commands that keep the data fresh and publish it: schedule, up, history, export.

Registered on the `billtracker` group by the last line of billtracker/cli.py.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from billtracker.cli.options import DEFAULT_DB, replay_option
from billtracker.jobs.run import run_job
from billtracker.jobs.schedule import DEFAULT_CONFIG, BadConfig, Config, build_scheduler, load_config


def _config(path: str) -> Config:
    try:
        return load_config(path)
    except BadConfig as exc:
        raise click.ClickException(str(exc)) from None


def _replay_settings(
    stack: ExitStack, replay_dir: str | None, config: Config
) -> tuple[dict[str, str], Config]:
    """Point the jobs at the local replay (no network) when --replay is given."""
    if replay_dir is None:
        return {}, config
    from dataclasses import replace

    from billtracker.jobs.spider_process import replay_settings
    from billtracker.jobs.spiders import replay_queries
    from billtracker.replay import ReplayServer, SamplesNotFound

    try:
        server = stack.enter_context(ReplayServer(samples_dir=replay_dir or None))
    except SamplesNotFound as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"replay: serving recorded responses on {server.base_url}", err=True)
    jobs = tuple(replace(j, queries=j.queries or replay_queries()) for j in config.jobs)
    return replay_settings(server.base_url), replace(config, jobs=jobs)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")


def _stop_on_sigterm() -> None:
    """SIGTERM (a supervisor stopping the service) ends the scheduler like Ctrl-C does."""

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


config_option = click.option(
    "--config",
    "config_path",
    default=str(DEFAULT_CONFIG),
    show_default="billtracker/schedule.toml",
    help="Schedule config (TOML).",
)


@click.command()
@click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLite database the crawls write.")
@config_option
@replay_option
@click.option("--once", "once", metavar="JOB", default=None, help="Run this one job now and exit.")
@click.option("--list", "list_jobs", is_flag=True, help="Print the jobs and their next run times, then exit.")
def schedule(db: str, config_path: str, replay_dir: str | None, once: str | None, list_jobs: bool) -> None:
    """Run crawls on a schedule (APScheduler, Asia/Taipei) until stopped.

    Each crawl runs in its own process, one at a time; a failed or empty run is retried with
    backoff, a partial one by fetching again only what it missed, and the last attempt is flagged
    in scrape_runs when the retries are used up.

    \b
    Examples:
        billtracker schedule --db billtracker.db
        billtracker schedule --list
        billtracker schedule --once incremental --replay ../shared/samples --db demo.db
    """
    _logging()
    config = _config(config_path)
    db = str(Path(db).resolve())
    with ExitStack() as stack:
        settings, config = _replay_settings(stack, replay_dir, config)
        if once is not None:
            jobs = {j.id: j for j in config.jobs}
            if once not in jobs:
                raise click.UsageError(f"unknown job {once!r}; known: {', '.join(jobs)}")
            row = run_job(jobs[once], db, settings, config.retry)
            click.echo(json.dumps(row, ensure_ascii=False), err=True)
            if row["status"] != "ok":
                raise click.ClickException(f"job {once}: run {row['id']} {row['status']}: {row['error']}")
            return
        if list_jobs:
            from apscheduler.schedulers.background import BackgroundScheduler

            preview = build_scheduler(config, db, settings, BackgroundScheduler())
            preview.start(paused=True)  # paused: computes next run times, runs nothing
            for job in preview.get_jobs():
                click.echo(f"{job.id}\t{job.name}\t{job.trigger}\tnext: {job.next_run_time}")
            preview.shutdown(wait=False)
            return
        scheduler = build_scheduler(config, db, settings)
        _stop_on_sigterm()
        click.echo(f"schedule: {len(config.jobs)} job(s) -> {db} ({config.timezone})", err=True)
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            click.echo("schedule: stopped", err=True)


@click.command()
@click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLite database to crawl into and serve.")
@click.option("--port", default=8001, show_default=True, help="Datasette port.")
@click.option("--host", default="127.0.0.1", show_default=True)
@config_option
@replay_option
def up(db: str, port: int, host: str, config_path: str, replay_dir: str | None) -> None:
    """Run the scheduler and Datasette together: how a deployment runs.

    The database is created (and migrated) first, so Datasette serves from the first second;
    stopping `up` (Ctrl-C or SIGTERM) stops both.

    \b
    Example:
        billtracker up --db billtracker.db --port 8001
    """
    from billtracker.serve.datasette import datasette_args, write_metadata_for
    from pipelines.schema import open_db

    _logging()
    config = _config(config_path)
    db = str(Path(db).resolve())
    open_db(db).close()
    metadata = write_metadata_for(db, Path(tempfile.mkdtemp(prefix="billtracker-")))
    with ExitStack() as stack:
        settings, config = _replay_settings(stack, replay_dir, config)
        scheduler = build_scheduler(config, db, settings)
        server = subprocess.Popen(datasette_args(db, port, host, metadata))
        click.echo(
            f"up: Datasette on http://{host}:{port} (pid {server.pid}); {len(config.jobs)} job(s)", err=True
        )
        _stop_on_sigterm()
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
            click.echo("up: stopped", err=True)


@click.command()
@click.argument("bill_no")
@click.option("--db", default=DEFAULT_DB, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of text.")
def history(bill_no: str, db: str, as_json: bool) -> None:
    """Print a bill's changes, oldest first.

    \b
    Example:
        billtracker history 1051006070201100 --db billtracker.db
    """
    import sqlite_utils

    if not Path(db).exists():
        raise click.ClickException(f"no database at {db}: run `billtracker crawl --db {db}` first")
    database = sqlite_utils.Database(db)
    if not database["changes"].exists():
        raise click.ClickException(f"{db} has no change history yet: run a crawl with this version")
    rows = list(database["changes"].rows_where("bill_no = ?", [bill_no], order_by="detected_at, id"))
    if not rows:
        known = database["bills"].count_where("bill_no = ?", [bill_no])
        raise click.ClickException(f"{bill_no}: " + ("no changes recorded" if known else f"not in {db}"))
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        old = row["old_value"] or ""
        new = row["new_value"] or ""
        value = f"{old} -> {new}" if old and new else (new or old)
        click.echo(f"{row['detected_at']}  run {row['run_id'] or '-':<4} {row['kind']:<22} {value}")


@click.command(name="export")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--db", default=DEFAULT_DB, show_default=True)
def export_command(out_dir: str, db: str) -> None:
    """Export every table as JSONL and CSV, a VACUUM INTO snapshot, and manifest.json.

    \b
    Example:
        billtracker export dist/export --db billtracker.db
    """
    from billtracker.serve.export import export

    if not Path(db).exists():
        raise click.ClickException(f"no database at {db}")
    manifest = export(db, out_dir)
    rows = sum(manifest["tables"].values())
    click.echo(
        f"{out_dir}: {len(manifest['tables'])} tables, {rows} rows, {len(manifest['files'])} files", err=True
    )


def register(cli: click.Group) -> None:
    for command in (schedule, up, history, export_command):
        cli.add_command(command)


__all__ = ["register"]
