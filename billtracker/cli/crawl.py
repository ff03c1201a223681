"""`billtracker crawl`: every spider (or some) into the database, judged like a scheduled job."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from billtracker.cli.options import DEFAULT_DB, corpus_option, parse_query, replay_option
from billtracker.jobs.spider_process import replay_settings
from billtracker.jobs.spiders import SPIDERS, replay_queries


def register(cli: click.Group) -> None:
    cli.add_command(crawl)


def summary(db_path: str) -> str:
    import sqlite_utils

    db = sqlite_utils.Database(db_path)
    counts = {t: db[t].count for t in ("bills", "stages", "sponsors", "laws", "problems")}
    return ", ".join(f"{n} {t}" for t, n in counts.items())


@click.command()
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
        from billtracker.jobs.run import Job, RetryPolicy, run_job

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
