"""`billtracker dispatch`: crawl through Scrapyd nodes, then merge their databases into one."""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import click

from billtracker.cli.options import DEFAULT_DB


@click.command()
@click.option(
    "--node", "nodes", multiple=True, required=True, metavar="URL", help="A Scrapyd node. Repeatable."
)
@click.option("--query", "queries", multiple=True, metavar="FIELD=VALUE[&...]", help="One job per query.")
@click.option("--db", default=DEFAULT_DB, show_default=True, help="The database the results merge into.")
@click.option("--workdir", default="", help="Where the jobs write their own databases (default: a temp dir).")
@click.option("--replay", "replay_dir", is_flag=False, flag_value="", default=None, metavar="DIR",
              help="Point the jobs at the recorded responses served from DIR on 127.0.0.1.")  # fmt: skip
@click.option("--scale", default=0, help="With --replay: serve N generated bills (bench corpus).")
def dispatch(
    nodes: tuple[str, ...],
    queries: tuple[str, ...],
    db: str,
    workdir: str,
    replay_dir: str | None,
    scale: int,
) -> None:
    """Deploy the spiders to Scrapyd nodes as an egg, run one tw_ly_bills job per query (round
    robin over the nodes) through Scrapyd's HTTP API, and merge the jobs' databases into --db.

    \b
    Example:
        billtracker dispatch --node http://127.0.0.1:6800 --node http://127.0.0.1:6801 --query 屆=11
    """
    from billtracker.cli.options import parse_query
    from billtracker.jobs.dispatch import build_egg, deploy, merge_databases, schedule, wait
    from billtracker.jobs.spider_process import replay_settings
    from billtracker.jobs.spiders import replay_queries

    parsed = [parse_query(q) for q in queries]
    with ExitStack() as stack:
        work = Path(
            workdir or stack.enter_context(tempfile.TemporaryDirectory(prefix="billtracker-dispatch-"))
        )
        work.mkdir(parents=True, exist_ok=True)
        from pipelines.history.watches import DEFAULT_WATCHES

        # The egg is a zip: package data cannot be read by path inside it, so the jobs get the
        # watch configuration's path on this host (on other machines: a path on the node).
        settings: dict[str, str] = {"BILLTRACKER_WATCHES": str(DEFAULT_WATCHES)}
        if replay_dir is not None:
            from billtracker.replay import ReplayServer

            server = stack.enter_context(ReplayServer(samples_dir=replay_dir or None, scale=scale))
            settings.update(replay_settings(server.base_url))
            parsed = parsed or replay_queries()
        if not parsed:
            raise click.UsageError("give at least one --query (or --replay)")
        version = f"r{int(time.time())}"
        egg = build_egg(work, version)
        for node in nodes:
            deploy(node, egg, version)
        jobs: dict[str, set[str]] = {node: set() for node in nodes}
        outputs = []
        for n, query in enumerate(parsed):
            node = nodes[n % len(nodes)]
            out = (work / f"job-{n}.db").resolve()
            args = {"queries": json.dumps([query], ensure_ascii=False)}
            jobs[node].add(schedule(node, "tw_ly_bills", {**settings, "BILLTRACKER_DB": str(out)}, args))
            outputs.append(out)
            click.echo(f"dispatch: {query} -> {node}", err=True)
        for node, ids in jobs.items():
            wait(node, ids)
        missing = [str(p) for p in outputs if not p.exists()]
        if missing:
            raise click.ClickException(f"jobs wrote no database: {', '.join(missing)} (see the nodes' logs)")
        copied = merge_databases(Path(db), outputs)
    click.echo(f"{db}: merged {len(outputs)} jobs ({copied.get('bills', 0)} bill rows)", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(dispatch)
