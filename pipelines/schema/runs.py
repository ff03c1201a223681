"""Partial runs: a run that lost anything is `partial`, and what it lost can be fetched again.

scrape_runs.missed counts the requests whose data the run did not obtain; `missed_requests`
keeps each one with what re-issues it (URL, callback name, cb_kwargs, the meta that matters), so
the job runner's next attempt fetches only those (`-a retry_of=RUN_ID`, scrapers/missed.py).
"""

from __future__ import annotations

import sqlite_utils


def create_missed_requests(db: sqlite_utils.Database) -> None:
    runs = db["scrape_runs"]
    runs.add_column("missed", int)  # requests whose data this run did not obtain
    runs.add_column("retry_of", int)  # the run whose missed requests this run fetched again
    runs.add_column("recovered", int)  # how many of them it obtained
    db["missed_requests"].create(
        {
            "id": int,
            "run_id": int,  # scrape_runs.id of the run that lost it
            "spider": str,
            "url": str,
            "method": str,
            "callback": str,  # the spider method that parses it ('' when unknown: not retriable)
            "cb_kwargs": str,  # JSON
            "meta": str,  # JSON: only what re-issuing needs (check_body)
            "kind": str,  # the problem kind that lost it (http-413, network, malformed-json, ...)
            "message": str,
            "recorded_at": str,
            "retried_by_run": int,  # the run that fetched it again, if any
            "recovered": int,  # 1 when that run obtained its data, 0 when it lost it again
        },
        pk="id",
    )
    db["missed_requests"].create_index(["run_id", "spider"])
