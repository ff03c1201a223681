"""The golden dumps: what the replay crawls store, every table row for row, checked in.

Why: the store was once checked against a copy of its earlier code kept as an oracle
(tests/store_reference.py, by tests/test_store_equivalence.py, both retired for this). A dump of
what the code writes, reviewed whenever it changes, holds the same line without keeping old code
alive, and shows in review what a change does to the data.
tests/test_golden.py builds each scenario and compares its databases with the file here. A change
that is meant to change stored data regenerates the files, and their diff is what a reviewer reads:

    .venv/bin/python -m tests.golden --update              # every scenario
    .venv/bin/python -m tests.golden --update store_runs   # just one

Scenarios (SCENARIOS), each one file of tests/files/golden/ holding one or more builds:
- replay: "crawl" is `billtracker crawl --replay` of every spider over the samples, as a user
  runs it. "recrawl" is two crawls of every spider into one file: first a replay in which four
  bills lack their last 議案流程 entry (billtracker/replay/snapshots.py), then the samples as
  they are, so the second crawl adds stages, re-derives what depends on them (reconcile after
  every spider) and re-reads every source.
- store_runs: the store alone, in-process, three runs over one file (what the equivalence test
  ran against the oracle, with 60 generated bills where it had 240: the same kinds of stage,
  change and problem, a third of the file): every sample bill and
  the generated ones; then bills changed every way the store has a rule for (a stage gone, flow
  vanished, 對照表 vanished, sponsors, title, related bills, a new law code twice, wrong types, a
  bad item rolled back mid write, the same problem again); then the second run again (no-ops).
  Built with one commit per item ("batch 1") and with batches of 500 items ("batch 500").

The file: JSON lines, sorted. `["#columns", table, [column, ...]]` first, then one line a row,
`[table, [value, ...]]` when every build of the scenario has the row, `[table, [value, ...],
[build, ...]]` when only the builds named do.

What a dump leaves out or normalises, so that it is the same on every machine and every run:
- The clock: a timestamp taken while the scenario ran becomes `<step N>` (N: the crawl or store
  run it was taken in; steps start a second apart), anywhere in a value (JSON text too).
  Timestamps from the data (captures, the fixed fetched_at of store_runs) stay as they are.
- The replay's port (`127.0.0.1:PORT`), a crawl's process id, when migrations were applied.
- Ids numbered in the order concurrent responses arrived (changes, problems, fetches) are
  renumbered in the order of the rows' content, and the rows that point at them follow.
- sha256 hex digests are cut to their first 16 digits; raw records and long published texts
  (HASHED: source_bills.record, bills.reason, search_texts ...) are kept as such a digest.
- Full-text indexes are not dumped: each is integrity-checked against its content instead.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from billtracker.replay import ReplayData, ReplayServer, default_samples_dir, load_replay
from billtracker.replay.scale import ScaleCorpus
from billtracker.replay.snapshots import rewind
from pipelines.schema.functions import register_functions
from tests.conftest import REWOUND, TODAY, run_cli_crawl

GOLDEN_DIR = Path(__file__).resolve().parent / "files" / "golden"

# Columns dropped: they differ on every run and say nothing about what was stored.
# The search_texts view names its articles' rowid (as the table it replaced had one, unlisted).
DROPPED: dict[str, set[str]] = {
    "scrape_runs": {"pid"},
    "_sqlite_migrations": {"applied_at"},
    "search_texts": {"rowid"},
}
# Columns kept as a digest of their (normalised) text: raw records and long published texts, stored
# as they came (what is derived from them, stages, sponsors, is dumped in full). Half the file else.
HASHED: dict[str, set[str]] = {
    "source_bills": {"record", "cosponsors"},
    "bill_versions": {"record"},
    "bills": {"reason"},
    "search_texts": {"text", "key"},
    "article_texts": {"text"},
    "bill_version_records": {"record"},  # packed: its text is bill_versions.record
}
# Tables whose integer id follows the order responses arrived in, and the columns naming them.
RENUMBERED = ("changes", "problems", "fetches")
REFERENCES: dict[tuple[str, str], str] = {("change_watches", "change_id"): "changes"}
DIGEST = 16  # hex digits of a sha256 kept: enough to see any change

_STAMP = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+00:00)?")
_PORT = re.compile(r"127\.0\.0\.1:\d+")
_SHA256 = re.compile(rf"(?<![0-9a-f])([0-9a-f]{{{DIGEST}}})[0-9a-f]{{{64 - DIGEST}}}(?![0-9a-f])")

Dump = list[str]  # sorted JSON lines: `[table, [value, ...]]`, headers `["#columns", table, [...]]`


def utc_second() -> datetime:
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None)


@dataclass
class Steps:
    """When each step of a scenario began: a timestamp taken while it ran is named by its step."""

    starts: list[datetime] = field(default_factory=list)
    end: datetime | None = None

    def begin(self) -> None:
        if self.starts:
            time.sleep(1.1)  # timestamps have second resolution: the next step starts strictly later
        self.starts.append(utc_second())

    def finish(self) -> None:
        self.end = utc_second() + timedelta(seconds=1)

    def name(self, stamp: str) -> str | None:
        """`<step N>` for a timestamp taken during the scenario, None for one from the data."""
        try:
            when = datetime.fromisoformat(stamp[:19].replace(" ", "T"))
        except ValueError:
            return None
        if not self.starts or self.end is None or not self.starts[0] <= when <= self.end:
            return None
        step = max(i for i, start in enumerate(self.starts) if start <= when)
        return f"<step {step + 1}>"


@dataclass
class Build:
    """One database a scenario built; `renumber`: its ids follow the order responses arrived in."""

    name: str
    path: Path
    steps: Steps
    renumber: bool = True


def normalised(value: Any, steps: Steps) -> Any:
    if not isinstance(value, str):
        return value

    def stamp(match: re.Match[str]) -> str:
        return steps.name(match.group(0)) or match.group(0)

    value = _PORT.sub("127.0.0.1:PORT", _STAMP.sub(stamp, value))
    return _SHA256.sub(r"\1", value)


# --- the dump -------------------------------------------------------------------------------------


def _dumped_tables(conn: sqlite3.Connection) -> list[str]:
    """Ordinary tables and views (what a Datasette user reads under a table's old name, and the
    table behind it): full-text indexes (virtual, their shadow tables, vocab views) aside."""
    virtual = [n for (n,) in conn.execute("select name from sqlite_master where sql like 'CREATE VIRTUAL%'")]
    return [
        name
        for (name,) in conn.execute(
            "select name from sqlite_master where type in ('table', 'view') order by name"
        )
        if name not in virtual
        and not any(name.startswith(v + "_") for v in virtual)
        and not name.startswith("sqlite_")
    ]


def check_fts(conn: sqlite3.Connection) -> None:
    """Every FTS5 index agrees with its content (raises if it is out of step)."""
    for (fts,) in conn.execute(
        "select name from sqlite_master where sql like 'CREATE VIRTUAL TABLE%' and sql like '%fts5(%'"
    ).fetchall():
        conn.execute(f"insert into [{fts}]([{fts}]) values ('integrity-check')")


def read_tables(build: Build) -> tuple[dict[str, list[str]], dict[str, list[list[Any]]]]:
    """(columns, rows) of every dumped table, normalised."""
    conn = register_functions(sqlite3.connect(build.path))
    try:
        check_fts(conn)
        columns: dict[str, list[str]] = {}
        tables: dict[str, list[list[Any]]] = {}
        for table in _dumped_tables(conn):
            cursor = conn.execute(f"select * from [{table}]")
            names = [d[0] for d in cursor.description]
            kept = [i for i, name in enumerate(names) if name not in DROPPED.get(table, ())]
            hashed = {i for i in kept if names[i] in HASHED.get(table, ())}
            columns[table] = [names[i] for i in kept]
            rows = []
            for values in cursor:
                row = []
                for i in kept:
                    value = normalised(values[i], build.steps)
                    if i in hashed and value is not None:
                        value = hashlib.sha256(str(value).encode()).hexdigest()[:DIGEST]
                    row.append(value)
                rows.append(row)
            tables[table] = rows
    finally:
        conn.close()
    if build.renumber:
        _renumber(columns, tables)
    return columns, tables


def _renumber(columns: dict[str, list[str]], tables: dict[str, list[list[Any]]]) -> None:
    """Ids in the order of the rows' content (without the id), not of arrival."""
    for table in RENUMBERED:
        if table not in tables:
            continue
        at = columns[table].index("id")
        rows = tables[table]
        rows.sort(key=lambda r: json.dumps(r[:at] + r[at + 1 :], ensure_ascii=False))
        new = {row[at]: n for n, row in enumerate(rows, start=1)}
        for row in rows:
            row[at] = new[row[at]]
        for (other, column), target in REFERENCES.items():
            if target == table and other in tables:
                ref = columns[other].index(column)
                for row in tables[other]:
                    row[ref] = new.get(row[ref], row[ref])


def dump(build: Build) -> Dump:
    """One build's database as sorted JSON lines."""
    columns, tables = read_tables(build)
    lines = [json.dumps(["#columns", t, names], ensure_ascii=False) for t, names in columns.items()]
    lines += [json.dumps([t, row], ensure_ascii=False) for t, rows in tables.items() for row in rows]
    return sorted(lines)


def merge(dumps: dict[str, Dump]) -> Dump:
    """The builds' dumps as one file: a line every build has once, the others tagged with the
    builds that have them (a line twice in a dump is two lines, the second its own)."""
    names = list(dumps)
    having: dict[tuple[str, int], list[str]] = {}
    for name in names:
        seen: Counter[str] = Counter()
        for line in dumps[name]:
            seen[line] += 1
            having.setdefault((line, seen[line]), []).append(name)
    out = []
    for (line, _), builds in having.items():
        out.append(line if builds == names else f"{line[:-1]}, {json.dumps(builds, ensure_ascii=False)}]")
    return sorted(out)


def split(merged: Dump, build: str) -> Dump:
    """One build's dump, from the merged file."""
    out = []
    for line in merged:
        parsed = json.loads(line)
        if parsed[0] != "#columns" and len(parsed) == 3:
            if build not in parsed[2]:
                continue
            line = json.dumps(parsed[:2], ensure_ascii=False)
        out.append(line)
    return sorted(out)


# --- the scenarios --------------------------------------------------------------------------------


def crawl_every_spider(path: Path, base_url: str) -> None:
    """What `billtracker crawl --replay` does, against a replay server the caller holds."""
    from billtracker.jobs.run import Job, RetryPolicy, run_job
    from billtracker.jobs.spider_process import replay_settings
    from billtracker.jobs.spiders import SPIDERS, replay_queries

    settings = {"BILLTRACKER_TODAY": TODAY, **replay_settings(base_url)}
    for name in SPIDERS:
        job = Job(id=f"cli-{name}", spider=name, mode="full", queries=replay_queries())
        row = run_job(job, path, settings, RetryPolicy(attempts=1))
        assert row.get("status") == "ok", (name, row)


def build_replay(work: Path, samples: Path) -> Iterator[Build]:
    """ "crawl": `billtracker crawl --replay`, every spider, as a user runs it; "recrawl": every
    spider over a replay four bills are a stage behind in, then again over the samples."""
    steps = Steps()
    path = work / "crawl.db"
    steps.begin()
    result = run_cli_crawl(path, samples)
    assert result.returncode == 0, result.stderr[-3000:]
    steps.finish()
    yield Build("crawl", path, steps)
    steps = Steps()
    path = work / "recrawl.db"
    with ReplayServer(samples_dir=samples) as server:
        snapshot_b = server.data
        server.data, _ = rewind(snapshot_b, REWOUND)
        steps.begin()
        crawl_every_spider(path, server.base_url)
        server.data = snapshot_b
        steps.begin()
        crawl_every_spider(path, server.base_url)
    steps.finish()
    yield Build("recrawl", path, steps)


# store_runs: the items the retired test_store_equivalence gave the StorePipeline, in-process.
STORE_TODAY = date(2026, 11, 26)
CIO_BILL = "1051006070201100"
LYAPI_BILL = "202110213410000"  # the one sample with a 對照表
NEW_LAW = "99999"
ROLLED_BACK_LAW = "88888"
STORE_BATCHES = (1, 500)
STORE_GENERATED = 60  # generated bills (billtracker/replay/scale.py), every third changed in run 2


def _bill(record: Any, fetched_at: str, bill_no: str | None = None) -> Any:
    from scrapers.items import BillItem, Provenance

    bill_no = bill_no or record["議案編號"]
    prov = Provenance(f"http://replay/v2/bills/{bill_no}", fetched_at, fetched_at[-9:-1] * 8, "tw_ly_bills")
    return BillItem(bill_no, record, prov)


def _side_items(fetched_at: str) -> list[Any]:
    from scrapers.items import FetchItem, LawItem, ProblemItem, Provenance

    url = "http://replay/v2/laws/01010"
    return [
        FetchItem(url, 200, fetched_at, "ef" * 32, 10, "tw_ly_bills", "application/json"),
        LawItem(
            "01010",
            {"法律編號": "01010", "名稱": "行政院組織法", "法律狀態": "現行", "類別": "母法"},
            Provenance(url, fetched_at, "ef" * 32, "tw_ly_bills"),
        ),
        ProblemItem("http-404", "HTTP 404", "http://replay/v2/bills/0", "tw_ly_bills", "0"),
    ]


def changed_samples(data: ReplayData) -> list[dict[str, Any]]:
    """Sample bills changed in every way the store has a rule for."""
    bills = copy.deepcopy(data.bills)
    cio = bills[CIO_BILL]
    del cio["議案流程"]  # flow-vanished: stored stages and current stage kept
    lyapi = bills[LYAPI_BILL]
    del lyapi["對照表"]  # table-vanished: stored articles kept
    a = bills["1050219070201200"]
    a["議案流程"] = a["議案流程"][:3]  # stages gone (marked, never deleted)
    a["連署人"] = a["連署人"][1:] + ["新委員"]  # sponsor removed and added
    a["議案名稱"] += "（修正）"  # title-changed
    a["關連議案"].append({"議案編號": "1050219070209900", "議案名稱": "新關連"})
    b = bills["1050219070203400"]
    b["議案狀態"] = "撤案"  # a disagreement with the flow
    b["法律編號"], b["法律編號:str"] = b["法律編號"] + [NEW_LAW], b["法律編號:str"] + ["新法"]
    c = bills["1050219070204700"]
    c["法律編號"], c["法律編號:str"] = [NEW_LAW], ["新法"]  # the new law code again: one laws row
    c["提案人"], c["連署人"] = [], []  # no sponsors: the stored ones stay
    d = bills["1050226070202600"]
    d["議案名稱"], d["提案人"] = 123, "王委員"  # wrong types
    d["議案流程"].append({"日期": ["2017-05-01"], "狀態": "不明狀態", "會期": "", "院會/委員會": "院會"})
    e = bills["1050301070201300"]
    e["屆"] = 10**30  # cannot be stored (int overflow mid write): rolled back, a store-error problem
    f = bills["1050307070200500"]
    f["法律編號"], f["法律編號:str"] = [ROLLED_BACK_LAW], ["壞法"]
    # fails late (the version's JSON): its laws row is rolled back. One member: a set's repr, in the
    # wrong-type message, follows the hash seed when it has more.
    f["資料抓取時間"] = {"not JSON"}
    g = bills["1050310070204800"]
    g["法律編號"], g["法律編號:str"] = [ROLLED_BACK_LAW], ["好法"]  # so this bill must write it
    return list(bills.values())


def store_run_items(samples: Path) -> list[list[Any]]:
    """The three runs' items: the first crawl, changed bills, the changed bills again."""
    data = load_replay(samples)
    n = STORE_GENERATED
    corpus = ScaleCorpus(data, n)
    mutated = ScaleCorpus(data, n, mutations=range(0, n, 3))
    first, second = "2026-11-26T01:00:00Z", "2026-11-27T01:00:00Z"
    with_table_row = copy.deepcopy(data.bills[LYAPI_BILL])
    extra_row = copy.deepcopy(with_table_row["對照表"][0]["rows"][0])
    extra_row["修正"] = extra_row["修正"].replace("第十四條", "第十四條之一")
    with_table_row["對照表"][0]["rows"].append(extra_row)
    run1 = _side_items(first)
    run1 += [_bill(copy.deepcopy(r), first) for r in data.bills.values() if r["議案編號"] != LYAPI_BILL]
    run1 += [_bill(with_table_row, first), _bill(copy.deepcopy(data.bills[LYAPI_BILL]), first)]
    run1 += [_bill(corpus.record(i), first) for i in range(n)]
    run1.append(_bill([], first, "1990000000000000"))  # not a record at all
    run2 = _side_items(second) + [_bill(r, second) for r in changed_samples(data)]
    run2 += [_bill(mutated.record(i), second) for i in range(n)]
    return [run1, run2, run2]


def store_all(path: Path, runs: list[list[Any]], batch: int, steps: Steps) -> None:
    from pipelines.store.pipeline import StorePipeline

    for items in runs:
        steps.begin()
        pipeline = StorePipeline(str(path), STORE_TODAY, batch_items=batch)
        pipeline.open_spider()
        for item in items:
            assert pipeline.process_item(copy.deepcopy(item)) is not None
        pipeline.close_spider()
    steps.finish()


def build_store_runs(work: Path, samples: Path) -> Iterator[Build]:
    """The store alone, three runs, once per batch size; the items arrive in one order, so ids
    are kept as the store numbered them."""
    runs = store_run_items(samples)
    for batch in STORE_BATCHES:
        steps = Steps()
        path = work / f"store_runs-{batch}.db"
        store_all(path, runs, batch, steps)
        yield Build(f"batch {batch}", path, steps, renumber=False)


Builder = Callable[[Path, Path], Iterator[Build]]
SCENARIOS: dict[str, Builder] = {"replay": build_replay, "store_runs": build_store_runs}


def golden_path(scenario: str) -> Path:
    return GOLDEN_DIR / f"{scenario}.jsonl"


def read_golden(scenario: str) -> Dump:
    return golden_path(scenario).read_text(encoding="utf-8").splitlines()


def first_differences(want: Dump, got: Dump, limit: int = 12) -> str:
    """What differs, for a failure message: per table the count of rows only one side has, then
    the first of those rows in dump order as {column: value}, `-` the golden file's, `+` this run's."""
    missing, extra = Counter(want) - Counter(got), Counter(got) - Counter(want)
    differing = sorted(
        [(line, "-") for line in missing.elements()] + [(line, "+") for line in extra.elements()]
    )
    columns = {}
    for line in want + got:
        parsed = json.loads(line)
        if parsed[0] == "#columns":
            columns[parsed[1]] = parsed[2]
    per_table: dict[str, list[int]] = {}
    shown = []
    for line, mark in differing:
        parsed = json.loads(line)
        table = parsed[1] if parsed[0] == "#columns" else parsed[0]
        per_table.setdefault(table, [0, 0])[0 if mark == "-" else 1] += 1
        if len(shown) < limit:
            if parsed[0] == "#columns":
                shown.append(f"{mark} {table} columns {parsed[2]}")
            else:
                row = dict(zip(columns.get(table, []), parsed[1], strict=False))
                shown.append(f"{mark} {table} {json.dumps(row, ensure_ascii=False)[:800]}")
    summary = ", ".join(f"{t} -{a} +{b}" for t, (a, b) in sorted(per_table.items()))
    more = f"\n... {len(differing) - limit} more" if len(differing) > limit else ""
    return (
        f"rows only in the golden file (-) or only in this run (+): {summary}\n"
        + "\n".join(shown)
        + more
        + "\nIf the change is meant: .venv/bin/python -m tests.golden --update, and review the diff."
    )


def build_dumps(scenario: str, work: Path, samples: Path) -> dict[str, Dump]:
    return {build.name: dump(build) for build in SCENARIOS[scenario](work, samples)}


def update(scenarios: list[str], samples: Path) -> None:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        for scenario in scenarios:
            work = Path(tmp) / scenario
            work.mkdir()
            lines = merge(build_dumps(scenario, work, samples))
            path = golden_path(scenario)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            print(f"{path}: {len(lines)} lines, {path.stat().st_size / 1024:.0f} kB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the golden dumps (tests/files/golden/).")
    parser.add_argument("--update", action="store_true", help="rebuild the scenarios and write their files")
    parser.add_argument("scenarios", nargs="*", help=f"default: all ({', '.join(SCENARIOS)})")
    args = parser.parse_args(argv)
    if not args.update:
        parser.error("nothing to do without --update (tests/test_golden.py compares)")
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    update(args.scenarios or list(SCENARIOS), default_samples_dir())


if __name__ == "__main__":
    main()
