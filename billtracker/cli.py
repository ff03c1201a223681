"""The `billtracker` command: crawl, serve, demo (sqlite-utils style: one verb per job).

Every command's help carries an example; tests/test_docs.py checks each is in README.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from billtracker.cli_options import DEFAULT_DB, corpus_option, replay_option
from billtracker.paths import REPO_ROOT
from billtracker.replay.moj import moj_urls
from billtracker.replay.upstream import upstream_map
from billtracker.serving import SETTINGS, write_metadata_for
from billtracker.spiders import SPIDERS, replay_queries, source_replay_settings


def replay_settings(base_url: str) -> dict[str, str]:
    """A local replay needs no politeness delay; everything else stays as in production."""
    return {
        "TW_LY_API_BASE": f"{base_url}/v2",
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
        "BACKOFF_BASE_SECONDS": "0.2",
        "TW_LAW_MOJ_URLS": ",".join(moj_urls(base_url)),
        **source_replay_settings(base_url),
        # Source links name the upstream a replayed record stands for, not the replay.
        "BILLTRACKER_UPSTREAM": json.dumps(upstream_map(base_url), ensure_ascii=False),
    }


def run_spider(spider: str, db: str, settings: dict[str, str], spider_args: dict[str, str]) -> int:
    """Each crawl in its own process: the Twisted reactor cannot restart in one process."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"BILLTRACKER_DB={db}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    for key, value in spider_args.items():
        cmd += ["-a", f"{key}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "scrapers.settings"}
    return subprocess.run(cmd, env=env, cwd=REPO_ROOT).returncode


def summary(db_path: str) -> str:
    import sqlite_utils

    db = sqlite_utils.Database(db_path)
    counts = {t: db[t].count for t in ("bills", "stages", "sponsors", "laws", "problems")}
    return ", ".join(f"{n} {t}" for t, n in counts.items())


@click.group()
@click.version_option()
def cli() -> None:
    """billtracker: follow bills of Taiwan's Legislative Yuan (立法院) through every stage.

    \b
    Example:
        billtracker demo
    """


@cli.command()
@click.argument("spiders", nargs=-1)
@click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLite database to write.")
@replay_option
@corpus_option
@click.option(
    "--query",
    "queries",
    multiple=True,
    metavar="FIELD=VALUE[&...]",
    help="A bill-list query (v2 /bills filters), e.g. 法律編號=01010 or 屆=9. Repeatable.",
)
@click.option("--today", default="", help="Freeze today's date (YYYY-MM-DD) for expiry.")
def crawl(
    spiders: tuple[str, ...],
    db: str,
    replay_dir: str | None,
    queries: tuple[str, ...],
    today: str,
    corpus_dir: str | None = None,
) -> None:
    """Crawl SPIDERS (all by default) into the database.

    \b
    Examples:
        billtracker crawl --db billtracker.db
        billtracker crawl tw_ly_bills --query 法律編號=01010 --db bills.db
        billtracker crawl --replay ../shared/samples --db demo.db
        billtracker crawl --replay ../shared/samples --corpus ../shared/corpus/ly-term9 --db term9.db
    """
    names = list(spiders) or list(SPIDERS)
    unknown = [n for n in names if n not in SPIDERS]
    if unknown:
        raise click.UsageError(f"unknown spider(s): {', '.join(unknown)}; known: {', '.join(SPIDERS)}")
    parsed = [parse_query(q) for q in queries]
    settings: dict[str, str] = {}
    if today:
        settings["BILLTRACKER_TODAY"] = today
    failed = []
    with ExitStack() as stack:
        if corpus_dir is not None and replay_dir is None:
            raise click.UsageError("--corpus is served by the replay: add --replay [DIR]")
        if replay_dir is not None:
            from billtracker.replay import ReplayServer, SamplesNotFound
            from billtracker.replay.corpus import load_corpus

            try:
                corpus = load_corpus(corpus_dir) if corpus_dir is not None else None
                server = stack.enter_context(ReplayServer(samples_dir=replay_dir or None, corpus=corpus))
            except SamplesNotFound as exc:
                raise click.ClickException(str(exc)) from None
            click.echo(f"replay: serving recorded responses on {server.base_url}", err=True)
            if corpus is not None:
                click.echo(
                    f"replay: corpus {corpus.root} ({len(corpus.details)} bill pages, "
                    f"{len(corpus.proposals)} proposals, {len(corpus.gaps)} gaps, "
                    f"captured {corpus.captured_on})",
                    err=True,
                )
                record_gaps(db, corpus)
            settings.update(replay_settings(server.base_url))
            parsed = parsed or replay_queries()
        from billtracker.jobs import Job, RetryPolicy, run_job

        for name in names:
            click.echo(f"crawl: {name} -> {db}", err=True)
            # Through the scheduler's own job runner: a scrape_runs row with the exit code and
            # the outcome (ok / partial / failed / empty), so a manual crawl is judged like a scheduled one.
            job = Job(id=f"cli-{name}", spider=name, mode="full", queries=parsed or None)
            row = run_job(job, db, settings, RetryPolicy(attempts=1))
            if row.get("status") != "ok":
                failed.append(f"{name} ({row.get('status')}: {row.get('error')})")
    if Path(db).exists():
        click.echo(f"{db}: {summary(db)}", err=True)
    if failed:
        raise click.ClickException(f"crawl failed: {', '.join(failed)}")


def record_gaps(db_path: str, corpus: Any) -> None:
    """Each record the corpus lacks is one `corpus-gap` problem row (recorded once, however
    often the corpus is crawled): the bill is still crawled from what it has."""
    from pipelines.problems import record_problem
    from pipelines.schema import open_db

    db = open_db(db_path)
    try:
        for gap in corpus.gaps:
            record_problem(
                db,
                "replay",
                "corpus-gap",
                f"{gap.bill_no}: {gap.missing} is missing; served from {gap.present} alone",
                f"{corpus.root.name}/{gap.missing}",
                gap.bill_no,
            )
    finally:
        db.close()


def parse_query(text: str) -> dict[str, str]:
    """'屆=9&議案類別=法律案' -> {'屆': '9', '議案類別': '法律案'}."""
    query = {}
    for part in text.split("&"):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected FIELD=VALUE, got {part!r}", param_hint="--query")
        query[key.strip()] = value.strip()
    return query


def datasette_args(db: str, port: int, host: str, metadata: Path) -> list[str]:
    args = [sys.executable, "-m", "datasette", "serve", db, "--metadata", str(metadata)]
    args += ["--host", host, "--port", str(port), "--cors"]
    for key, value in SETTINGS.items():
        value = {True: "on", False: "off"}.get(value, value)
        args += ["--setting", key, str(value)]
    return args


@cli.command()
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


@cli.command()
@click.option("--db", default=DEFAULT_DB, show_default=True)
@click.option("--port", default=8001, show_default=True)
@click.option("--samples", default="", help="Samples folder (default ../shared/samples).")
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


from billtracker.cli_sources import register  # noqa: E402  (issue 3: record, reconcile)

register(cli)

from billtracker.cli_fresh import register as _register_fresh  # noqa: E402  (issue 4)

_register_fresh(cli)
from billtracker.cli_publish import register as _register_publish  # noqa: E402

_register_publish(cli)
from billtracker.cli_dispatch import register as _register_dispatch  # noqa: E402

_register_dispatch(cli)
from billtracker.cli_audit import register as _register_audit  # noqa: E402  (issue 10)

_register_audit(cli)
from billtracker.cli_backfill import register as _register_backfill  # noqa: E402  (issue 11)

_register_backfill(cli)

if __name__ == "__main__":
    cli()
