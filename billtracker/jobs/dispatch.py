"""Crawls dispatched to Scrapyd nodes, and their results merged into the one database.

Scrapyd is Scrapy's own job server: a node runs each scheduled crawl in its own process from a
deployed egg of the project. billtracker's use: one node per source family or per slice of a
backfill (a term each), every job writing its own SQLite file on its node, the crawler host
merging the files into the one database afterwards (SQLite is one writer per file; the merge is
row-level upserts by primary key, so a bill two jobs both fetched is stored once).

    billtracker dispatch --node http://127.0.0.1:6800 --node http://127.0.0.1:6801 \\
        --query 屆=10 --query 屆=11 --db billtracker.db
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from billtracker.paths import REPO_ROOT

PROJECT = "billtracker"
PACKAGES = ("billtracker", "scrapers", "pipelines")
SETUP_PY = """
from setuptools import find_packages, setup
setup(
    name="billtracker",
    version="{version}",
    packages=find_packages(include=["billtracker*", "scrapers*", "pipelines*"]),
    package_data={{"billtracker": ["templates/*.html", "static/*", "*.toml", "openapi.yaml"]}},
    entry_points={{"scrapy": ["settings = scrapers.settings"]}},
    zip_safe=False,
)
"""


def build_egg(out_dir: Path, version: str) -> Path:
    """The project as an egg with the `scrapy` settings entry point Scrapyd activates."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for package in PACKAGES:
            shutil.copytree(REPO_ROOT / package, tmp / package, ignore=shutil.ignore_patterns("__pycache__"))
        (tmp / "setup.py").write_text(SETUP_PY.format(version=version), encoding="utf-8")
        cmd = [sys.executable, "setup.py", "-q", "bdist_egg", "-d", str(out_dir)]
        subprocess.run(cmd, cwd=tmp, check=True, capture_output=True, text=True)
    return next(out_dir.glob(f"billtracker-{version}-*.egg"))


def _post(url: str, fields: list[tuple[str, str]], files: dict[str, Path] | None = None) -> dict[str, Any]:
    if files:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, path in files.items():
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
            )
            parts.append(
                head.encode()
                + b"Content-Type: application/octet-stream\r\n\r\n"
                + path.read_bytes()
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        content_type = f"multipart/form-data; boundary={boundary}"
    else:
        body = urlencode(fields).encode()
        content_type = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    if answer.get("status") != "ok":
        raise RuntimeError(f"{url}: {answer}")
    return answer


def deploy(node: str, egg: Path, version: str) -> None:
    _post(f"{node}/addversion.json", [("project", PROJECT), ("version", version)], {"egg": egg})


def schedule(node: str, spider: str, settings: dict[str, str], args: dict[str, str]) -> str:
    fields = [("project", PROJECT), ("spider", spider)]
    fields += [("setting", f"{k}={v}") for k, v in settings.items()]
    fields += list(args.items())
    return str(_post(f"{node}/schedule.json", fields)["jobid"])


def wait(node: str, jobs: set[str], timeout: float = 600) -> None:
    """Until every job is finished on the node (Scrapyd's listjobs.json)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{node}/listjobs.json?project={PROJECT}", timeout=30) as response:
            listing = json.loads(response.read())
        if jobs <= {job["id"] for job in listing.get("finished", [])}:
            return
        time.sleep(0.5)
    raise TimeoutError(f"{node}: jobs {sorted(jobs)} not finished after {timeout:.0f} s")


def merge_databases(target: Path, sources: list[Path]) -> dict[str, int]:
    """Upsert every row of each source database into target (created and migrated if new).

    Tables keyed by natural keys (bills, stages, ...) are upserted; tables keyed by an integer
    id (fetches, problems, runs) get their rows appended, except a problem another shard already
    recorded (same problem_key): its `times` are added. Full-text indexes follow through their
    triggers. Returns rows read per table."""
    from pipelines.schema import open_db

    db = open_db(target)
    conn = db.conn
    conn.execute("PRAGMA foreign_keys = OFF")  # parents and children arrive table by table
    virtual = [
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")
    ]
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
        if not r[0].startswith(("sqlite_", "_sqlite")) and not any(r[0].startswith(v) for v in virtual)
    ]
    copied: dict[str, int] = {}
    for source in sources:
        conn.execute("ATTACH DATABASE ? AS src", [str(source)])
        try:
            with conn:
                theirs = {
                    r[0] for r in conn.execute("SELECT name FROM src.sqlite_master WHERE type = 'table'")
                }
                for table in (t for t in tables if t in theirs):
                    info = conn.execute(f'PRAGMA main.table_info("{table}")').fetchall()
                    their_cols = {r[1] for r in conn.execute(f'PRAGMA src.table_info("{table}")')}
                    pks = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
                    cols = [r[1] for r in info if r[1] in their_cols and not (pks == ["id"] and r[1] == "id")]
                    names = ", ".join(f'"{c}"' for c in cols)
                    # an id-keyed row is appended, unless a unique key (a disagreement's readings) has it
                    verb = "INSERT OR IGNORE" if pks == ["id"] or not pks else "INSERT OR REPLACE"
                    merge = ""
                    if table == "problems" and "problem_key" in cols:
                        # One row per problem (pipelines/problems.py): seen by two shards, counted.
                        verb = "INSERT"
                        merge = (
                            " WHERE true ON CONFLICT(problem_key) DO UPDATE SET"
                            " times = coalesce(problems.times, 1) + coalesce(excluded.times, 1),"
                            " last_seen_at = max(problems.last_seen_at, excluded.last_seen_at)"
                        )
                    cursor = conn.execute(
                        f'{verb} INTO main."{table}" ({names}) SELECT {names} FROM src."{table}"{merge}'
                    )
                    copied[table] = copied.get(table, 0) + max(cursor.rowcount, 0)
        finally:
            conn.execute("DETACH DATABASE src")
    conn.execute("PRAGMA foreign_keys = ON")
    problems = conn.execute("PRAGMA foreign_key_check").fetchall()
    db.close()
    if problems:
        raise RuntimeError(f"merge left {len(problems)} rows without their parent, e.g. {problems[0]}")
    return copied
