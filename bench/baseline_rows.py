"""The bare baseline's table shapes, shared by the benchmarks that compare Scrapy against a plain
urllib + json + sqlite3 loop: the same schema and the same columns from normalise_bill's rows."""

from __future__ import annotations

from pipelines.normalise.bill_record import NormalisedBill

BASELINE_SCHEMA = """
CREATE TABLE bills (bill_no TEXT PRIMARY KEY, term INTEGER, title TEXT, current_stage TEXT,
                    source_url TEXT, fetched_at TEXT, content_sha256 TEXT, record_sha256 TEXT);
CREATE TABLE stages (bill_no TEXT, seq INTEGER, stage TEXT, status_raw TEXT, "on" TEXT,
                     committee TEXT, source_url TEXT, PRIMARY KEY (bill_no, seq));
CREATE TABLE sponsors (bill_no TEXT, role TEXT, seq INTEGER, name_raw TEXT, name TEXT, kind TEXT,
                       PRIMARY KEY (bill_no, role, seq));
"""
BILL_COLUMNS = ("bill_no", "term", "title", "current_stage", "source_url", "fetched_at", "content_sha256",
                "record_sha256")  # fmt: skip
STAGE_COLUMNS = ("bill_no", "seq", "stage", "status_raw", "on", "committee", "source_url")
SPONSOR_COLUMNS = ("bill_no", "role", "seq", "name_raw", "name", "kind")


def baseline_rows(norm: NormalisedBill) -> tuple[tuple, list[tuple], list[tuple]]:
    """(bill row, stage rows, sponsor rows) as tuples for executemany."""
    bill = tuple(norm.bill[c] for c in BILL_COLUMNS)
    stages = [tuple(s[c] for c in STAGE_COLUMNS) for s in norm.stages]
    sponsors = [tuple(s[c] for c in SPONSOR_COLUMNS) for s in norm.sponsors]
    return bill, stages, sponsors
