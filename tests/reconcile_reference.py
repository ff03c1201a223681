"""The per-bill reconcile as it was before the chunked rewrite (commit 80f7b4f of
pipelines/reconcile.py, Reconciler class only), kept as the reference tests/test_reconcile_chunked.py
compares the chunked implementation against. Not imported by billtracker itself."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import date
from typing import Any

import sqlite_utils

from pipelines import history
from pipelines.date_doubts import filing_doubt
from pipelines.names import alias_key, identities, person_key, sponsor_kind
from pipelines.precedence import best, rank
from pipelines.reconcile import (  # the helpers did not change
    MERGED_SEQ,
    PROMULGATED_SEQ,
    PROMULGATION_WINDOW_DAYS,
    SOURCE_SEQ,
    is_report,
    merged_members,
    readings_sha,
    state_key,
    title_key,
)
from pipelines.stage_machine import Event, current_stage
from scrapers.stages import LABELS, classify, clean_status
from scrapers.tw_ly.responses import utc_now

logger = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, db: sqlite_utils.Database, today: date) -> None:
        self.db = db
        self.today = today
        self.now = utc_now()
        self.counts: dict[str, int] = defaultdict(int)
        self._found: dict[str, set[str]] = {}  # bill -> fields found in disagreement this run

    # --- entry point ------------------------------------------------------------------------

    def run(self, run_id: int | None = None, only: set[str] | None = None) -> dict[str, int]:
        """Reconcile every bill, or with `only` just those bills plus the bills merged with
        them into one report (a crawl of LYAPI bills touches only what it fetched: walking all
        150k bills after a 100-bill refresh cost minutes). What it changes (a derived 三讀 or
        promulgation, a bill only a secondary source knows) becomes typed `changes` events."""
        with self.db.atomic():
            scope = self.scope(only)
            before = {b: history.snapshot(self.db, b) for b in scope}
            known = {b for (b,) in self.db.execute("select bill_no from bills")}
            self.resolve_source_bills()
            self.create_missing_bills()
            self.link_merged_reviews()
            created = {b for (b,) in self.db.execute("select bill_no from bills")} - known
            scope = self.scope(only) | created if only is not None else self.scope(None)
            for bill_no in scope - created - set(before):
                # Widened to a companion by a link made just now: nothing of it changed yet.
                before[bill_no] = history.snapshot(self.db, bill_no)
            for bill_no in sorted(scope):
                bill = self.db["bills"].get(bill_no)
                self.reconcile_bill(bill)
            self.link_sponsors(scope)
            now = utc_now()
            for bill_no in sorted(scope):
                old = before.get(bill_no) or history.BillState(None)
                self.counts["changes"] += len(
                    history.record_changes(
                        self.db, bill_no, old, history.snapshot(self.db, bill_no), run_id, now
                    )
                )
        logger.info("reconcile: %s", dict(self.counts))
        return dict(self.counts)

    def scope(self, only: set[str] | None) -> set[str]:
        """Stored bills to reconcile: all, or `only` widened to their merged-review companions."""
        stored = {b for (b,) in self.db.execute("select bill_no from bills")}
        if only is None:
            return stored
        wanted = set(only) & stored
        if wanted and self.db["merged_reviews"].exists():
            marks = ",".join("?" for _ in wanted)
            reports = [
                r
                for (r,) in self.db.execute(
                    f"select report_bill_no from merged_reviews where bill_no in ({marks})"
                    f" union select report_bill_no from merged_reviews where report_bill_no in ({marks})",
                    [*wanted, *wanted],
                )
            ]
            for report in reports:
                wanted |= {
                    b
                    for (b,) in self.db.execute(
                        "select bill_no from merged_reviews where report_bill_no = ?", [report]
                    )
                }
                wanted.add(report)
        return wanted & stored

    # --- 1, 2 ---------------------------------------------------------------------------------

    def resolve_source_bills(self) -> None:
        """lis records -> billNo by 提案編號; when a 提案編號 covers several drafts (70委20031) or
        several bills, only the one whose title matches is resolved, never a guess."""
        bills_by_no: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self.db.query("SELECT bill_no, proposal_no, title FROM bills WHERE proposal_no != ''"):
            bills_by_no[r["proposal_no"]].append(r)
        pending = list(self.db["source_bills"].rows_where("bill_no IS NULL OR bill_no = ''"))
        sharing: dict[str, int] = defaultdict(int)
        for r in self.db.query("SELECT proposal_no FROM source_bills WHERE source = 'lis'"):
            sharing[r["proposal_no"]] += 1
        for row in pending:
            candidates = bills_by_no.get(row["proposal_no"], [])
            if len(candidates) == 1 and sharing[row["proposal_no"]] <= 1:
                match = candidates
            else:
                key = title_key(row["title"])
                match = [b for b in candidates if key and key == title_key(b["title"])]
            if len(match) == 1:
                self.db["source_bills"].update(
                    (row["source"], row["source_key"]), {"bill_no": match[0]["bill_no"]}
                )
                self.counts["resolved"] += 1

    def create_missing_bills(self) -> None:
        known = {r["bill_no"] for r in self.db.query("SELECT bill_no FROM bills")}
        rows = self.db.query("SELECT * FROM source_bills WHERE bill_no IS NOT NULL AND bill_no != ''")
        by_bill: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            if row["bill_no"] not in known:
                by_bill[row["bill_no"]].append(row)
        for bill_no, readings in by_bill.items():
            top = min(readings, key=lambda r: rank("title", r["source"]))
            self.db["bills"].insert(
                {
                    "bill_no": bill_no,
                    "term": top["term"],
                    "title": top["title"],
                    "proposal_no": top["proposal_no"],
                    "filed_on": top["filed_on"],
                    "status_raw": top["status_raw"],
                    "source": top["source"],
                    "source_url": top["source_url"],
                    "fetched_at": top["fetched_at"],
                    "content_sha256": top["content_sha256"],
                    "record_sha256": "",  # no LYAPI record yet: the first one will be written
                    "first_seen_at": self.now,
                    "updated_at": self.now,
                }
            )
            self.counts["bills_created"] += 1

    # --- 3 ----------------------------------------------------------------------------------

    def link_merged_reviews(self) -> None:
        """merged_reviews rows from 關連議案 (both sides) and from the report's title."""
        related = list(
            self.db.query("SELECT bill_no, related_bill_no, related_title, source_url FROM related_bills")
        )
        for src in self.db.query("SELECT bill_no, related, source_url FROM source_bills WHERE bill_no != ''"):
            for r in json.loads(src["related"] or "[]"):
                if r.get("bill_no"):
                    related.append(
                        {
                            "bill_no": src["bill_no"],
                            "related_bill_no": r["bill_no"],
                            "related_title": r.get("title", ""),
                            "source_url": src["source_url"],
                        }
                    )
        titles = {r["bill_no"]: r["title"] for r in self.db.query("SELECT bill_no, title FROM bills")}
        reports: dict[str, str] = {}
        report_urls: dict[str, str] = {}  # where the report's title was read
        links: dict[tuple[str, str], dict[str, Any]] = {}
        for r in related:
            a, b = r["bill_no"], r["related_bill_no"]
            if is_report(b) and not is_report(a):
                reports.setdefault(b, r["related_title"] or titles.get(b, ""))
                report_urls.setdefault(b, r["source_url"])
                links[(b, a)] = {"evidence": f"關連議案 of {a}", "source_url": r["source_url"]}
            elif is_report(a) and not is_report(b):
                reports.setdefault(a, titles.get(a, ""))
                report_urls.setdefault(a, r["source_url"])
                links[(a, b)] = {"evidence": f"關連議案 of {a}", "source_url": r["source_url"]}
        # The report's title names who it merges: match them to bills by proposer and headcount.
        candidates = {r["related_bill_no"]: r["related_title"] for r in related}
        candidates.update(titles)
        proposer_text = {
            r["bill_no"]: r["proposer_text"] or ""
            for r in self.db.query("SELECT bill_no, proposer_text FROM bills")
        }
        for report, title in reports.items():
            for name, count in merged_members(title):
                tag = f"{name}等{count}人"
                for bill_no, bill_title in candidates.items():
                    if is_report(bill_no) or (report, bill_no) in links:
                        continue
                    if tag in (bill_title or "") or tag in proposer_text.get(bill_no, ""):
                        links[(report, bill_no)] = {
                            "evidence": f"report title names 委員{tag}",
                            "source_url": report_urls.get(report, ""),
                        }
        for (report, bill_no), link in links.items():
            self.db["merged_reviews"].upsert(
                {"report_bill_no": report, "bill_no": bill_no, "report_title": reports[report], **link},
                pk=("report_bill_no", "bill_no"),
            )
        self.counts["merged_links"] = len(links)

    def merged_third_reading(self, bill_no: str) -> tuple[dict[str, Any], str, str] | None:
        """(the 三讀 stage row, report billNo, how) that a merged review gives this bill, if any."""
        for link in self.db["merged_reviews"].rows_where("bill_no = ?", [bill_no]):
            report = link["report_bill_no"]
            rows = self._third_readings([report])
            if rows:
                return rows[0], report, f"recorded on the report {report}"
            others = [
                r["bill_no"]
                for r in self.db["merged_reviews"].rows_where("report_bill_no = ?", [report])
                if r["bill_no"] != bill_no
            ]
            rows = [r for r in self._third_readings(others) if r["origin"] == "flow"]
            if rows:
                return rows[0], report, f"the report {report} is stored only as 三讀 on {rows[0]['bill_no']}"
        return None

    def _third_readings(self, bill_nos: list[str]) -> list[dict[str, Any]]:
        if not bill_nos:
            return []
        marks = ",".join("?" for _ in bill_nos)
        return list(
            self.db.query(
                f"SELECT * FROM stages WHERE bill_no IN ({marks}) AND stage = 'third-reading' "
                'AND gone_at IS NULL ORDER BY "on", bill_no, seq',
                bill_nos,
            )
        )

    # --- 4, 5, 6 per bill ----------------------------------------------------------------------

    def reconcile_bill(self, bill: dict[str, Any]) -> None:
        bill_no = bill["bill_no"]
        # stage_sources is derived from what is stored now: rebuilt for the bill on every run, so a
        # source that stopped reporting an event no longer claims it.
        self.db["stage_sources"].delete_where("bill_no = ?", [bill_no])
        self.propagate_merged(bill_no)
        readings = list(self.db["source_bills"].rows_where("bill_no = ?", [bill_no]))
        self.attach_sources(bill, readings)
        self.ledger(bill, readings)
        self.derive_promulgation(bill_no)
        self.recompute_stage(bill)
        self.settle_the_rest(bill_no)

    def propagate_merged(self, bill_no: str) -> None:
        stored = [r for r in self._third_readings([bill_no]) if r["seq"] != MERGED_SEQ]
        if stored:
            return
        found = self.merged_third_reading(bill_no)
        if found is None:
            self.withdraw(bill_no, MERGED_SEQ, "the merged review's 三讀 is no longer stored")
            return
        evidence, report, how = found
        note = (
            f"derived: 三讀 of the merged review (併案) report {report}, {how}; "
            f"evidence: {evidence['bill_no']} seq {evidence['seq']} ({evidence['source_url']})"
        )
        existing = next(self.db["stages"].rows_where("bill_no = ? AND seq = ?", [bill_no, MERGED_SEQ]), None)
        same = existing and (existing["note"], existing["on"]) == (note, evidence["on"])
        if not (same and not existing["gone_at"]):  # else: already derived from the same evidence
            self._write_merged(bill_no, evidence, note)
            self.counts["merged_third_readings"] += 1
        self._stage_source(
            bill_no, MERGED_SEQ, evidence["source"], evidence["status_raw"], "evidence", note, evidence
        )

    def withdraw(self, bill_no: str, seq: int, why: str) -> None:
        """A derived row whose evidence is gone is marked gone_at (kept, never deleted)."""
        row = next(
            self.db["stages"].rows_where("bill_no = ? AND seq = ? AND gone_at IS NULL", [bill_no, seq]), None
        )
        if row is not None:
            self.db["stages"].update(
                (bill_no, seq), {"gone_at": self.now, "note": f"{row['note']}; evidence gone: {why}"}
            )
            self.counts["derived_withdrawn"] += 1

    def _write_merged(self, bill_no: str, evidence: dict[str, Any], note: str) -> None:
        self.db["stages"].upsert(
            {
                "bill_no": bill_no,
                "seq": MERGED_SEQ,
                "stage": "third-reading",
                "stage_label": LABELS["third-reading"],
                "status_raw": evidence["status_raw"],
                "origin": "derived",
                "note": note,
                "venue": evidence["venue"],
                "venue_kind": evidence["venue_kind"],
                "committee": "",
                "session_code": evidence["session_code"],
                "meeting_codes": evidence["meeting_codes"],
                "dates": evidence["dates"],
                "on": evidence["on"],
                "second_on": evidence["second_on"],
                "order_on": evidence["order_on"],
                "source": "reconcile",
                "source_url": evidence["source_url"],
                "fetched_at": evidence["fetched_at"],
                "content_sha256": evidence["content_sha256"],
                "gone_at": None,
            },
            pk=("bill_no", "seq"),
        )

    def promulgations(self, law_codes: list[str]) -> list[dict[str, Any]]:
        """Every promulgation of these laws: MOJ 沿革 (law_versions, tw_law_moj) and lis versions."""
        if not law_codes:
            return []
        marks = ",".join("?" for _ in law_codes)
        found: list[dict[str, Any]] = []
        if self.db["law_versions"].exists():
            for r in self.db.query(
                f"SELECT * FROM law_versions WHERE law_code IN ({marks}) AND promulgated_on IS NOT NULL",
                law_codes,
            ):
                found.append(
                    {**r, "source": "moj", "on": r["promulgated_on"], "what": f"MOJ 沿革 {r['text_raw']}"}
                )
        for r in self.db.query(
            f"SELECT * FROM lis_law_versions WHERE law_code IN ({marks}) "
            "AND action = '公布' AND \"on\" IS NOT NULL",
            law_codes,
        ):
            found.append({**r, "source": "lis", "what": f"lis law version {r['text_raw']}"})
        return found

    def derive_promulgation(self, bill_no: str) -> None:
        """A passed bill's law promulgated within PROMULGATION_WINDOW_DAYS after its 三讀 -> a
        derived `promulgated` stage citing the 沿革 entry; MOJ first, lis second (precedence)."""
        passed = [r for r in self._third_readings([bill_no]) if r["on"]]
        laws = [
            r["law_code"]
            for r in self.db.query("SELECT law_code FROM bill_laws WHERE bill_no = ?", [bill_no])
        ]
        if not passed or not laws:
            self.withdraw(bill_no, PROMULGATED_SEQ, "no third reading is stored")
            return
        third = date.fromisoformat(passed[0]["on"])
        candidates = [
            p
            for p in self.promulgations(laws)
            if 0 <= (date.fromisoformat(p["on"]) - third).days <= PROMULGATION_WINDOW_DAYS
        ]
        if not candidates:
            self.withdraw(bill_no, PROMULGATED_SEQ, "no promulgation follows the third reading")
            return
        by_source: dict[str, dict[str, Any]] = {}
        for p in sorted(candidates, key=lambda p: p["on"]):
            by_source.setdefault(p["source"], p)
        if len({p["on"] for p in by_source.values()}) > 1:
            self.disagree(
                bill_no,
                "promulgated_on",
                [self._reading(src, p["on"], p) for src, p in by_source.items()],
                "promulgated",
            )
        chosen_source, chosen = best("promulgated", list(by_source.items())) or ("", None)
        assert chosen is not None
        note = (
            f"derived: {chosen['what']} ({chosen['on']}), the first promulgation of law "
            f"{chosen['law_code']} after the 三讀 of {passed[0]['on']}"
        )
        existing = next(
            self.db["stages"].rows_where("bill_no = ? AND seq = ?", [bill_no, PROMULGATED_SEQ]), None
        )
        unchanged = existing and (existing["note"], existing["source_url"]) == (note, chosen["source_url"])
        if not (unchanged and not existing["gone_at"]):  # else: already derived from the same evidence
            self._write_promulgation(bill_no, chosen_source, chosen, note)
            self.counts["promulgations"] += 1
        for src, p in by_source.items():
            if p["on"] == chosen["on"]:
                self._stage_source(bill_no, PROMULGATED_SEQ, src, p["text_raw"], "evidence", p["what"], p)

    def _write_promulgation(
        self, bill_no: str, chosen_source: str, chosen: dict[str, Any], note: str
    ) -> None:
        self.db["stages"].upsert(
            {
                "bill_no": bill_no,
                "seq": PROMULGATED_SEQ,
                "stage": "promulgated",
                "stage_label": LABELS["promulgated"],
                "status_raw": chosen["text_raw"],
                "origin": "derived",
                "note": note,
                "venue": "",
                "venue_kind": "",
                "committee": "",
                "session_code": "",
                "meeting_codes": "[]",
                "dates": json.dumps([chosen["on"]]),
                "on": chosen["on"],
                "second_on": None,
                "order_on": chosen["on"],
                "source": chosen_source,
                "source_url": chosen["source_url"],
                "fetched_at": chosen["fetched_at"],
                "content_sha256": chosen["content_sha256"],
                "gone_at": None,
            },
            pk=("bill_no", "seq"),
        )

    def _stage_source(
        self, bill_no: str, seq: int, source: str, raw: str, role: str, note: str, prov: dict[str, Any]
    ) -> None:
        self.db["stage_sources"].upsert(
            {
                "bill_no": bill_no,
                "seq": seq,
                "source": source,
                "status_raw": raw,
                "role": role,
                "note": note,
                "source_url": prov["source_url"],
                "fetched_at": prov["fetched_at"],
                "content_sha256": prov["content_sha256"],
            },
            pk=("bill_no", "seq", "source"),
        )

    def attach_sources(self, bill: dict[str, Any], readings: list[dict[str, Any]]) -> None:
        bill_no = bill["bill_no"]
        stages = list(self.db["stages"].rows_where("bill_no = ? AND gone_at IS NULL", [bill_no]))
        for row in stages:
            # a secondary source's own row is claimed below, by the event that still reports it
            if row["origin"] not in ("derived", "source"):
                self._stage_source(bill_no, row["seq"], row["source"], row["status_raw"], "stored", "", row)
        for reading in sorted(readings, key=lambda r: rank("stages", r["source"])):
            events = self.db["source_stages"].rows_where(
                "source = ? AND source_key = ?", [reading["source"], reading["source_key"]], order_by="seq"
            )
            for event in events:
                if not event["on"] or event["stage"] == "unknown":
                    continue
                self._attach_event(bill, stages, event)
        supported = {
            r["seq"]
            for r in self.db["stage_sources"].rows_where("bill_no = ? AND seq >= ?", [bill_no, SOURCE_SEQ])
        }
        for row in stages:
            if row["origin"] == "source" and row["seq"] not in supported:
                self.withdraw(bill_no, row["seq"], f"{row['source']} no longer reports it")

    def _attach_event(
        self, bill: dict[str, Any], stages: list[dict[str, Any]], event: dict[str, Any]
    ) -> None:
        bill_no, source = bill["bill_no"], event["source"]
        same_day = [r for r in stages if event["on"] in (r["on"], r["second_on"])]
        match = [r for r in same_day if r["stage"] == event["stage"]]
        match = match or [r for r in same_day if state_key(r["stage"]) == state_key(event["stage"])]
        if match:
            row = match[0]
            role = "stored" if row["source"] == source else "confirms"
            self._stage_source(bill_no, row["seq"], source, event["status_raw"], role, "", event)
            return
        if same_day:
            other = min(same_day, key=lambda r: rank("stages", r["source"]))
            self.disagree(
                bill_no,
                f"stage on {event['on']}",
                [
                    self._reading(other["source"], f"{other['stage']} ({other['status_raw']})", other),
                    self._reading(source, f"{event['stage']} ({event['status_raw']})", event),
                ],
                "stages",
            )
            if rank("stages", source) >= rank("stages", other["source"]):
                return
        seq = self._next_source_seq(bill_no)
        row = {
            "bill_no": bill_no,
            "seq": seq,
            "stage": event["stage"],
            "stage_label": LABELS.get(event["stage"], ""),
            "status_raw": event["status_raw"],
            "origin": "source",
            "note": f"only {source} reports this event",
            "venue": event["venue"],
            "venue_kind": "plenary" if event["venue"] == "院會" else ("committee" if event["venue"] else ""),
            "committee": event["venue"] if event["venue"] not in ("", "院會") else "",
            "session_code": event["session_code"],
            "meeting_codes": "[]",
            "dates": json.dumps([d for d in (event["on"], event["second_on"]) if d]),
            "on": event["on"],
            "second_on": event["second_on"],
            "order_on": event["on"],
            "source": source,
            "source_url": event["source_url"],
            "fetched_at": event["fetched_at"],
            "content_sha256": event["content_sha256"],
            "gone_at": None,
        }
        self.db["stages"].insert(row)
        stages.append(row)
        self._stage_source(bill_no, seq, source, event["status_raw"], "stored", "", event)
        self.counts["source_stages_added"] += 1

    def _next_source_seq(self, bill_no: str) -> int:
        top = self.db.execute(
            "SELECT max(seq) FROM stages WHERE bill_no = ? AND seq >= ?", [bill_no, SOURCE_SEQ]
        )
        value = top.fetchone()[0]
        return SOURCE_SEQ if value is None else value + 1

    @staticmethod
    def _reading(source: str, value: str, prov: dict[str, Any]) -> dict[str, Any]:
        return {
            "source": source,
            "value": value,
            "source_url": prov.get("source_url") or "",
            "fetched_at": prov.get("fetched_at") or "",
        }

    def ledger(self, bill: dict[str, Any], readings: list[dict[str, Any]]) -> None:
        """Compare each field across sources; record disagreements; apply precedence to `bills`."""
        bill_no = bill["bill_no"]
        primary = bill["source"] == "lyapi"
        fields: dict[str, list[tuple[dict[str, Any], Any]]] = defaultdict(list)  # field -> (reading, key)
        sponsors_by_source = self._sponsor_sets(bill_no, readings)
        if primary:
            raw = clean_status(bill["status_raw"] or "")
            if raw:
                fields["status"].append((self._reading("lyapi", raw, bill), state_key(classify(raw))))
            if bill["title"]:
                fields["title"].append(
                    (self._reading("lyapi", bill["title"], bill), title_key(bill["title"]))
                )
            if bill["filed_on"]:
                fields["filed_on"].append((self._reading("lyapi", bill["filed_on"], bill), bill["filed_on"]))
        for r in readings:
            if r["status_raw"]:
                status_key = state_key(r["status_stage"])
                fields["status"].append((self._reading(r["source"], r["status_raw"], r), status_key))
            if r["title"]:
                fields["title"].append((self._reading(r["source"], r["title"], r), title_key(r["title"])))
            if r["filed_on"]:
                fields["filed_on"].append((self._reading(r["source"], r["filed_on"], r), r["filed_on"]))
        for source, (names, prov) in sponsors_by_source.items():
            fields["sponsors"].append((self._reading(source, "、".join(names), prov), tuple(sorted(names))))
        updates: dict[str, Any] = {}
        first_flow_on = self.db.execute(
            "SELECT min(\"on\") FROM stages WHERE bill_no = ? AND origin = 'flow' AND gone_at IS NULL",
            [bill_no],
        ).fetchone()[0]
        for field, pairs in fields.items():
            if len({key for _, key in pairs}) > 1:
                self.disagree(bill_no, field, [reading for reading, _ in pairs], field)
            usable = [
                (reading["source"], reading["value"])
                for reading, _ in pairs
                if field != "filed_on" or not filing_doubt(reading["value"], bill["term"], first_flow_on)
            ]
            chosen = best(field, usable)
            if field == "filed_on" and chosen is None and bill["filed_on"] is not None:
                updates["filed_on"] = None
            if chosen and field in ("title", "filed_on") and bill[field] != chosen[1]:
                updates[field] = chosen[1]
        sources = sorted({"lyapi"} if primary else set()) + sorted({r["source"] for r in readings})
        updates["sources"] = json.dumps(sources)
        if any(bill.get(k) != v for k, v in updates.items()):
            self.db["bills"].update(bill_no, updates)

    def _sponsor_sets(
        self, bill_no: str, readings: list[dict[str, Any]]
    ) -> dict[str, tuple[list[str], dict[str, Any]]]:
        """Per source: the sponsors as one identity each (legislator id when known)."""
        index = self.alias_index()

        def ident(raw: str) -> list[str]:
            return identities(raw, index)

        out: dict[str, tuple[list[str], dict[str, Any]]] = {}
        rows = list(self.db["sponsors"].rows_where("bill_no = ? AND source = 'lyapi'", [bill_no]))
        if rows:
            prov = {"source_url": rows[0]["source_url"], "fetched_at": ""}
            out["lyapi"] = (sorted({i for r in rows for i in ident(r["name_raw"])}), prov)
        for r in readings:
            names = json.loads(r["proposers"] or "[]") + json.loads(r["cosponsors"] or "[]")
            if names:
                out[r["source"]] = (sorted({i for n in names for i in ident(n)}), r)
        return out

    def settle(self, bill_no: str, field: str, keep: str = "") -> None:
        """The field's earlier disagreements no longer describe the sources: mark them superseded
        (kept, never deleted), so the ledger's current view shows one row per open question."""
        self.db.execute(
            "UPDATE disagreements SET superseded_at = ? WHERE bill_no = ? AND field = ? "
            "AND readings_sha256 != ? AND superseded_at IS NULL",
            [self.now, bill_no, field, keep],
        )

    def settle_the_rest(self, bill_no: str) -> None:
        """Open disagreements of this bill that this run no longer found (the sources now agree,
        or a field stopped being reported) are superseded: kept, no longer current."""
        found = self._found.get(bill_no, set())
        rows = list(self.db["disagreements"].rows_where("bill_no = ? AND superseded_at IS NULL", [bill_no]))
        for row in rows:
            if row["field"] not in found:
                self.db["disagreements"].update(row["id"], {"superseded_at": self.now})
                self.counts["disagreements_settled"] += 1

    def disagree(
        self, bill_no: str, field: str, readings: list[dict[str, Any]], precedence_field: str
    ) -> None:
        self._found.setdefault(bill_no, set()).add(field)
        sha = readings_sha(readings)
        self.settle(bill_no, field, keep=sha)
        existing = next(
            self.db["disagreements"].rows_where(
                "bill_no = ? AND field = ? AND readings_sha256 = ?", [bill_no, field, sha]
            ),
            None,
        )
        if existing:
            self.db["disagreements"].update(existing["id"], {"last_seen_at": self.now, "superseded_at": None})
            return
        chosen = best(precedence_field, [(r["source"], r["value"]) for r in readings])
        self.db["disagreements"].insert(
            {
                "bill_no": bill_no,
                "field": field,
                "summary": " | ".join(f"{r['source']}: {r['value']}" for r in readings),
                "readings": json.dumps(readings, ensure_ascii=False),
                "chosen_source": chosen[0] if chosen else "",
                "chosen_value": chosen[1] if chosen else "",
                "readings_sha256": sha,
                "detected_at": self.now,
                "last_seen_at": self.now,
                "superseded_at": None,
            }
        )
        self.counts["disagreements"] += 1

    def recompute_stage(self, bill: dict[str, Any]) -> None:
        """Current stage over every live stage; drop (gone_at) an expiry a third reading undoes."""
        bill_no = bill["bill_no"]
        rows = list(self.db["stages"].rows_where("bill_no = ? AND gone_at IS NULL", [bill_no]))
        events = [
            Event(r["seq"], r["stage"], r["order_on"] or r["on"], r["session_code"] or "")
            for r in rows
            if r["stage"] != "expired"
        ]
        if not events:
            return
        state = current_stage(events, bill["term"], self.today)
        if state.slug == "expired":
            # The third reading that undid the expiry is gone again: the expiry stands again.
            for r in self.db["stages"].rows_where(
                "bill_no = ? AND stage = 'expired' AND gone_at IS NOT NULL", [bill_no]
            ):
                if "; undone: " in (r["note"] or ""):
                    note = r["note"].split("; undone: ")[0]
                    self.db["stages"].update((bill_no, r["seq"]), {"gone_at": None, "note": note})
        for r in rows:
            if r["stage"] == "expired" and r["origin"] == "derived" and state.slug != "expired":
                self.db["stages"].update(
                    (bill_no, r["seq"]),
                    {
                        "gone_at": self.now,
                        "note": (r["note"] or "") + f"; undone: current stage is {state.slug}",
                    },
                )
        update = {
            "current_stage": state.slug,
            "current_stage_label": LABELS.get(state.slug or "", ""),
            "current_stage_on": state.on,
            "current_stage_derived": int(state.derived),
        }
        if any(bill.get(k) != v for k, v in update.items()):
            self.db["bills"].update(bill_no, update)
            self.counts["stages_recomputed"] += 1

    # --- 7 ----------------------------------------------------------------------------------

    _alias_index: dict[str, str] | None = None

    def alias_index(self) -> dict[str, str]:
        if self._alias_index is None:
            index: dict[str, str] = {}
            for row in self.db["legislators"].rows:
                for alias in json.loads(row["aliases"] or "[]"):
                    index.setdefault(alias_key(alias), row["id"])
            self._alias_index = index
        return self._alias_index

    def fill_sponsors(self, scope: set[str]) -> None:
        """Roles LYAPI names nobody for, from the best other source that names someone."""
        for bill_no in sorted(scope):
            rows = list(self.db["sponsors"].rows_where("bill_no = ?", [bill_no], order_by="role, seq"))
            readings = list(
                self.db["source_bills"].rows_where("bill_no = ?", [bill_no], order_by="source, source_key")
            )
            want = []
            for role, column in (("proposer", "proposers"), ("cosponsor", "cosponsors")):
                if any(r["role"] == role and r["source"] == "lyapi" for r in rows):
                    continue
                chosen = best(
                    "sponsors", [(r["source"], r) for r in readings if json.loads(r[column] or "[]")]
                )
                if chosen:
                    for i, n in enumerate(json.loads(chosen[1][column])):
                        want.append((bill_no, role, i, n, chosen[0], chosen[1]["source_url"]))
            want.sort(key=lambda r: (r[1], r[2]))
            have = [
                (r["bill_no"], r["role"], r["seq"], r["name_raw"], r["source"], r["source_url"])
                for r in rows
                if r["source"] != "lyapi"
            ]
            if have == want:
                continue
            self.db.execute("DELETE FROM sponsors WHERE bill_no = ? AND source != 'lyapi'", [bill_no])
            for b, role, i, n, src, url in want:
                self.db["sponsors"].insert(
                    {
                        "bill_no": b,
                        "role": role,
                        "seq": i,
                        "name_raw": n,
                        "name": person_key(n),
                        "kind": sponsor_kind(n),
                        "source": src,
                        "source_url": url,
                    }
                )
                self.counts["sponsors_filled"] += 1

    def link_sponsors(self, scope: set[str]) -> None:
        self.fill_sponsors(scope)
        index = self.alias_index()
        if not index:
            return
        ids = set(index.values())
        for row in list(self.db["sponsors"].rows_where("kind = 'legislator'")):
            found = identities(row["name_raw"], index)[0]
            if found in ids and (row["legislator_id"] != found or row["name"] != found):
                self.db["sponsors"].update(
                    (row["bill_no"], row["role"], row["seq"]), {"legislator_id": found, "name": found}
                )
                self.counts["sponsors_linked"] += 1
