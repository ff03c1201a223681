"""`billtracker backfill`: plan a whole-corpus crawl, run it, resume it after a kill.

Planning is a `tw_ly_bills` crawl in plan mode (only `limit=1` probes and agg requests): the
spider's own window splitting turns the queries into leaves that fit LYAPI's 10,000-result
window and records every page in the ledger (pipelines/schema/backfill.py). The backfill is a
crawl in backfill mode that asks for the ledger's pages not done; each page is marked done in
the store transaction that commits its bills, so a crawl killed with -9 is resumed by running
the command again: the unfinished plan is picked up and only its unfinished pages are fetched.
List mode (whole-record output_fields) is the default; the spider's echo check stays, so an API
that does not echo the fields gets bills from details as a normal crawl does.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from billtracker.cli.options import DEFAULT_DB, replay_option
from billtracker.jobs.profiles import BULK, BULK_BILLS_PER_SECOND
from pipelines.schema import open_db
from pipelines.store.backfill_ledger import Progress, progress
from pipelines.store.runs import finish_run, start_run
from scrapers.clock import utc_now
from scrapers.tw_ly.bills import WHOLE_RECORD_FIELDS

SPIDER = "tw_ly_bills"
# Polite: the project's own politeness (settings.py: one request at a time, DOWNLOAD_DELAY), list
# mode at the default page size (100 whole records a page keeps each answer a few MB).
POLITE: dict[str, str] = {"TW_LY_LIST_FIELDS": ",".join(WHOLE_RECORD_FIELDS)}


def polite_delay() -> float:
    from scrapers import settings

    return float(settings.DOWNLOAD_DELAY)


def default_limit_and_window() -> tuple[int, int]:
    from scrapers import settings

    return int(settings.TW_LY_PAGE_LIMIT), int(settings.TW_LY_RESULT_WINDOW)


@dataclass
class Plan:
    id: int
    status: str
    page_limit: int
    window: int


def open_plan(
    db_path: str, queries: list[dict[str, Any]], base_url: str, limit: int, window: int, restart: bool
) -> tuple[Plan, bool]:
    """The unfinished plan for these queries (resumed), or a new one; True if it needs planning."""
    db = open_db(db_path)
    try:
        key = json.dumps(queries, ensure_ascii=False, sort_keys=True)
        rows = list(
            db.query(
                "SELECT * FROM backfill_plans WHERE queries = ? AND status IN ('planning', 'planned') "
                "ORDER BY id DESC",
                [key],
            )
        )
        if restart and rows:
            with db.conn:
                db.execute(
                    "UPDATE backfill_plans SET status = 'abandoned', finished_at = ? WHERE queries = ? "
                    "AND status IN ('planning', 'planned')",
                    [utc_now(), key],
                )
            rows = []
        if rows and rows[0]["status"] == "planned":
            r = rows[0]
            return Plan(r["id"], r["status"], r["page_limit"], r["window"]), False
        if rows:  # planning was interrupted: its leaves may be partial, plan again (only probes)
            plan_id = rows[0]["id"]
            with db.conn:
                db.execute("DELETE FROM backfill_pages WHERE plan_id = ?", [plan_id])
                db.execute(
                    "UPDATE backfill_plans SET page_limit = ?, window = ?, base_url = ? WHERE id = ?",
                    [limit, window, base_url, plan_id],
                )
            return Plan(plan_id, "planning", limit, window), True
        row = {
            "created_at": utc_now(),
            "base_url": base_url,
            "queries": key,
            "page_limit": limit,
            "window": window,
            "status": "planning",
        }
        plan_id = int(db["backfill_plans"].insert(row).last_pk)
        return Plan(plan_id, "planning", limit, window), True
    finally:
        db.close()


def crawl(
    db_path: str,
    mode: str,
    plan: Plan,
    settings: dict[str, str],
    queries: list[dict[str, Any]],
    tick: Any = None,
    every: float = 10.0,
) -> dict[str, Any]:
    """One tracked crawl (a scrape_runs row, like the job runner's); `tick()` every `every` s."""
    from billtracker.jobs.spider_process import run_spider

    db = open_db(db_path)
    run_id = start_run(db, SPIDER, mode, f"backfill-{plan.id}", 1, None)
    db.close()
    args = {"mode": mode, "plan_id": str(plan.id), "queries": json.dumps(queries, ensure_ascii=False)}
    crawl_settings = {
        **settings,
        "TW_LY_PAGE_LIMIT": str(plan.page_limit),
        "TW_LY_RESULT_WINDOW": str(plan.window),
        "BILLTRACKER_RUN_ID": str(run_id),
    }
    code: list[int] = []
    worker = threading.Thread(target=lambda: code.append(run_spider(SPIDER, db_path, crawl_settings, args)))
    worker.start()
    while worker.is_alive():
        worker.join(every)
        if worker.is_alive() and tick is not None:
            tick()
    db = open_db(db_path)
    try:
        return finish_run(db, run_id, code[0] if code else 1)
    finally:
        db.close()


def counts(db_path: str) -> dict[str, int]:
    """What the summary compares before and after: bills, fetches, problems."""
    conn = sqlite3.connect(db_path)
    try:
        return {
            "bills": conn.execute("SELECT count(*) FROM bills").fetchone()[0],
            "fetches": conn.execute("SELECT coalesce(max(id), 0) FROM fetches").fetchone()[0],
        }
    finally:
        conn.close()


def read_progress(db_path: str, plan_id: int) -> Progress:
    conn = sqlite3.connect(db_path)
    try:
        return progress(conn, plan_id)
    finally:
        conn.close()


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def describe_plan(plan: Plan, p: Progress, delay: float) -> list[str]:
    """The plan as printed: leaves, requests, bills, and the time it takes at both rates."""
    lines = [
        f"plan {plan.id}: {p.leaves} leaf queries (each within the {plan.window:,}-result window), "
        f"{p.pages:,} list pages of {plan.page_limit:,}, {p.bills_expected:,} bills expected",
        f"  to fetch: {p.left:,} list requests ({p.done:,} pages already done), plus one request per "
        "law and per related bill no list carries",
        f"  polite (one request at a time, DOWNLOAD_DELAY {delay:g} s): about "
        f"{duration(p.left * delay)} for the list pages",
        f"  BULK (a local mirror, {BULK_BILLS_PER_SECOND} bills/s by bench/bench_backfill.py): about "
        f"{duration(p.bills_expected * p.left / max(1, p.pages) / BULK_BILLS_PER_SECOND)}",
    ]
    return lines


def problem_kinds(db_path: str, since: str) -> dict[str, int]:
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute(
            "SELECT kind, count(*) FROM problems WHERE last_seen_at >= ? GROUP BY kind ORDER BY kind", [since]
        )
        return {kind: n for kind, n in rows}
    finally:
        conn.close()


@click.command()
@click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLite database to fill.")
@click.option(
    "--query",
    "queries",
    multiple=True,
    metavar="FIELD=VALUE[&...]",
    help="A bill-list query (v2 /bills filters). Repeatable; default: every bill.",
)
@replay_option
@click.option("--api", default="", metavar="BASE", help="LYAPI base URL, e.g. a mirror's http://host/v2.")
@click.option(
    "--bulk/--polite",
    default=None,
    help="BULK profile (a mirror or the replay; the default with --replay) or the polite default "
    "(the default against LYAPI).",
)
@click.option("--plan-only", is_flag=True, help="Plan and print the plan; fetch no bill.")
@click.option("--restart", is_flag=True, help="Abandon the unfinished plan for these queries; plan anew.")
@click.option(
    "--setting",
    "extra",
    multiple=True,
    metavar="KEY=VALUE",
    help="An extra Scrapy setting for both crawls, e.g. TW_LY_RESULT_WINDOW=1000. Repeatable.",
)
@click.option("--progress-seconds", default=10.0, show_default=True, help="Seconds between progress lines.")
@click.option("--today", default="", help="Freeze today's date (YYYY-MM-DD) for expiry.")
def backfill(
    db: str,
    queries: tuple[str, ...],
    replay_dir: str | None,
    api: str,
    bulk: bool | None,
    plan_only: bool,
    restart: bool,
    extra: tuple[str, ...],
    progress_seconds: float,
    today: str,
) -> None:
    """Plan a backfill, run it with progress, resume it after an interruption, summarise it.

    Run the same command again after a crash or kill: it resumes the unfinished plan and fetches
    only the pages not stored yet.

    \b
    Examples:
        billtracker backfill --db billtracker.db --plan-only
        billtracker backfill --db billtracker.db --query 屆=11
        billtracker backfill --api http://mirror.local/v2 --bulk --db billtracker.db
        billtracker backfill --replay ../shared/samples --db demo.db
    """
    from billtracker.cli.options import parse_query
    from billtracker.jobs.spider_process import replay_settings

    parsed = [parse_query(q) for q in queries] or [{}]
    settings: dict[str, str] = {}
    if today:
        settings["BILLTRACKER_TODAY"] = today
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--setting")
        settings[key.strip()] = value.strip()
    db = str(Path(db).resolve())
    with ExitStack() as stack:
        if replay_dir is not None and api:
            raise click.UsageError("--replay and --api name two APIs: give one")
        if replay_dir is not None:
            from billtracker.replay import ReplayServer, SamplesNotFound

            try:
                server = stack.enter_context(ReplayServer(samples_dir=replay_dir or None))
            except SamplesNotFound as exc:
                raise click.ClickException(str(exc)) from None
            click.echo(f"replay: serving recorded responses on {server.base_url}", err=True)
            base = replay_settings(server.base_url)
        else:
            base = {"TW_LY_API_BASE": api} if api else {}
        use_bulk = bulk if bulk is not None else replay_dir is not None
        profile = BULK if use_bulk else POLITE
        settings = {**base, **profile, **settings}
        limit, window = default_limit_and_window()
        limit = int(settings.get("TW_LY_PAGE_LIMIT", limit))
        window = int(settings.get("TW_LY_RESULT_WINDOW", window))
        api_base = settings.get("TW_LY_API_BASE", "") or "https://ly.govapi.tw/v2"
        plan, needs_planning = open_plan(db, parsed, api_base, limit, window, restart)
        started = time.monotonic()
        if needs_planning:
            click.echo(f"backfill: planning {len(parsed)} queries against {api_base}", err=True)
            run = crawl(db, "plan", plan, settings, parsed)
            if run.get("status") not in {"ok", "empty"}:
                raise click.ClickException(f"planning failed ({run.get('status')}: {run.get('error')})")
            p = read_progress(db, plan.id)
            dbh = open_db(db)
            with dbh.conn:
                dbh["backfill_plans"].update(
                    plan.id,
                    {
                        "status": "planned",
                        "planned_at": utc_now(),
                        "leaves": p.leaves,
                        "pages": p.pages,
                        "bills_expected": p.bills_expected,
                    },
                )
            dbh.close()
        else:
            click.echo(f"backfill: resuming plan {plan.id}", err=True)
        p = read_progress(db, plan.id)
        for line in describe_plan(plan, p, polite_delay()):
            click.echo(line)
        if plan_only:
            return
        run_backfill(db, plan, settings, parsed, p, started, progress_seconds)


def run_backfill(
    db: str,
    plan: Plan,
    settings: dict[str, str],
    queries: list[dict[str, Any]],
    before: Progress,
    started: float,
    every: float,
) -> None:
    """The crawl of the plan's pages not done, a progress line every `every` s, a summary."""
    since = utc_now()
    first = counts(db)
    crawl_start = time.monotonic()

    def tick() -> None:
        p = read_progress(db, plan.id)
        bills = counts(db)["bills"] - first["bills"]
        elapsed = time.monotonic() - crawl_start
        pages = p.done - before.done
        eta = duration(p.left * elapsed / pages) if pages else "?"
        click.echo(
            f"backfill: {p.done:,}/{p.pages:,} pages, {bills:,} bills stored, "
            f"{bills / max(elapsed, 1e-9):.0f} bills/s, ETA {eta}",
            err=True,
        )

    run = crawl(db, "backfill", plan, settings, queries, tick, every)
    p = read_progress(db, plan.id)
    last = counts(db)
    elapsed = time.monotonic() - crawl_start
    problems = problem_kinds(db, since)
    done = p.left == 0 and run.get("status") in {"ok", "empty"}
    if done:
        dbh = open_db(db)
        with dbh.conn:
            dbh["backfill_plans"].update(plan.id, {"status": "done", "finished_at": utc_now()})
        dbh.close()
    bills = last["bills"] - first["bills"]
    click.echo(
        f"backfill: plan {plan.id} {'done' if done else 'NOT done'}: {p.done:,}/{p.pages:,} pages "
        f"({p.done - before.done:,} this run), {bills:,} new bills stored, "
        f"{last['fetches'] - first['fetches']:,} requests, {duration(elapsed)} "
        f"({bills / max(elapsed, 1e-9):.0f} bills/s; {duration(time.monotonic() - started)} with planning)"
    )
    click.echo("  problems: " + (", ".join(f"{k} {n}" for k, n in problems.items()) if problems else "none"))
    if not done:
        raise click.ClickException(
            f"backfill: {p.left:,} pages left (crawl {run.get('status')}: {run.get('error')}); "
            "run the same command again to resume"
        )


def register(group: click.Group) -> None:
    group.add_command(backfill)
