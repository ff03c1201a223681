"""`billtracker record` and `billtracker reconcile`: secondary sources in, one record per bill out.

`record` exists because no raw ppg page was ever captured: whoever has network runs it against
the live site, and the saved body + sidecar become a replay fixture the ppg parser is checked on.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit

import click

from billtracker.cli.options import DEFAULT_DB
from scrapers.clock import utc_now
from scrapers.settings import USER_AGENT

_CHARSET = re.compile(r"charset=([\w-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([\w-]+)", re.I)


def recorded_path(out: Path, url: str) -> Path:
    """Where a URL's body goes: DIR/host/path, the query folded into the file name.

    https://ppg.ly.gov.tw/ppg/bills/1051006070201100/details -> DIR/ppg.ly.gov.tw/ppg/bills/
    1051006070201100/details; a query string becomes "__" + its percent-encoded text.
    """
    parts = urlsplit(url)
    path = parts.path.strip("/") or "index"
    name = path + (f"__{quote(parts.query, safe='=&')}" if parts.query else "")
    return out / parts.netloc / name


def encoding_of(content_type: str, body: bytes) -> str:
    """The body's declared encoding (header, then <meta>), else what decodes: utf-8 or big5."""
    found = _CHARSET.search(content_type or "")
    if found:
        return found.group(1).lower()
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        return meta.group(1).decode("ascii").lower()
    for candidate in ("utf-8", "big5"):
        try:
            body.decode(candidate)
            return candidate
        except UnicodeDecodeError:
            continue
    return "unknown"


def record(url: str, out: Path, timeout: float = 60.0) -> tuple[Path, dict[str, object]]:
    """Fetch URL once (any status is kept: a 403 page is evidence too) and save body + sidecar."""
    # The User-Agent names the project in Chinese; send its UTF-8 bytes as Scrapy does.
    agent = USER_AGENT.encode("utf-8").decode("latin-1")
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, body = response.status, dict(response.headers.items()), response.read()
            final_url = response.url
    except urllib.error.HTTPError as exc:
        status, headers, body, final_url = exc.code, dict(exc.headers.items()), exc.read(), url
    target = recorded_path(out, url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)
    sidecar = {
        "url": url,
        "final_url": final_url,
        "fetched_at": utc_now(),
        "status": status,
        "headers": headers,
        "encoding": encoding_of(headers.get("Content-Type", ""), body),
        "bytes": len(body),
        "content_sha256": hashlib.sha256(body).hexdigest(),
        "user_agent": USER_AGENT,
    }
    meta = target.with_name(target.name + ".meta.json")
    meta.write_text(json.dumps(sidecar, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target, sidecar


@click.command(name="record")
@click.argument("url")
@click.option(
    "--out",
    default="recorded",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Replay folder to save into (DIR/host/path + .meta.json sidecar).",
)
def record_command(url: str, out: Path) -> None:
    """Save one live response and a sidecar (url, fetched_at, status, headers, encoding).

    Use it to verify the ppg parser, written without any recorded ppg page.

    \b
    Example:
        billtracker record https://ppg.ly.gov.tw/ppg/bills/1051006070201100/details --out recorded
    """
    try:
        target, sidecar = record(url, out)
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise click.ClickException(f"could not fetch {url}: {exc}") from None
    click.echo(f"{target}: HTTP {sidecar['status']}, {sidecar['bytes']} bytes, {sidecar['encoding']}")


@click.command(name="reconcile")
@click.option("--db", default=DEFAULT_DB, show_default=True, help="SQLite database to reconcile.")
@click.option("--today", default="", help="Freeze today's date (YYYY-MM-DD) for expiry.")
@click.option(
    "--corrections",
    "corrections_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Reviewed corrections to apply [default: $BILLTRACKER_CORRECTIONS, else the repository's].",
)
def reconcile_command(db: str, today: str, corrections_file: Path | None) -> None:
    """Merge every source into one record per bill, update the disagreements ledger and apply
    the reviewed corrections.

    Every crawl already ends with this step; run it alone after changing precedence rules or
    the corrections file (a crawl reconciles only the bills it touched).

    \b
    Example:
        billtracker reconcile --db billtracker.db
        billtracker reconcile --db billtracker.db --corrections my-corrections.toml
    """
    from pipelines.reconcile import Reconciler
    from pipelines.schema import open_db
    from scrapers.clock import taipei_today

    if not Path(db).exists():
        raise click.ClickException(f"no database at {db}: run `billtracker crawl --db {db}` first")
    database = open_db(db)
    try:
        reconciler = Reconciler(database, taipei_today(today) if today else taipei_today())
        reconciler.corrections_path = corrections_file  # None: $BILLTRACKER_CORRECTIONS or the default
        counts = reconciler.run()
    finally:
        database.close()
    click.echo(", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items())) or "nothing to do")


def register(cli: click.Group) -> None:
    cli.add_command(record_command)
    cli.add_command(reconcile_command)


__all__ = ["record", "record_command", "reconcile_command", "register"]
