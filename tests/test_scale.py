"""The generated LYAPI-sized corpus (billtracker/replay/scale.py), on a small instance: the same
records every time, shaped like the captured v2 record, carrying the quirks it promises, served
by the replay with the list filters and sort the spider uses."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest

from billtracker.replay import ReplayServer, load_replay
from billtracker.replay.scale import CHANGED_ON, ScaleCorpus
from scrapers.stages import classify

N = 3000


@pytest.fixture(scope="module")
def corpus(samples_dir: Path) -> ScaleCorpus:
    return ScaleCorpus(load_replay(samples_dir), N)


@pytest.fixture(scope="module")
def records(corpus: ScaleCorpus) -> list[dict]:
    return [corpus.record(i) for i in range(N)]


def test_deterministic(samples_dir: Path, corpus: ScaleCorpus):
    again = ScaleCorpus(load_replay(samples_dir), N)
    assert [again.record(i) for i in (0, 17, N - 1)] == [corpus.record(i) for i in (0, 17, N - 1)]
    assert again.bill_nos == corpus.bill_nos


def test_shaped_like_the_captured_v2_record(samples_dir: Path, records: list[dict]):
    captured = load_replay(samples_dir).bills["202110213410000"]
    for record in records[:: N // 30]:
        assert set(record) <= set(captured), set(record) - set(captured)
        assert {"議案編號", "議案名稱", "提案日期", "法律編號", "屆"} <= set(record)


def test_bill_numbers_unique_and_shaped(corpus: ScaleCorpus, records: list[dict]):
    assert len(set(corpus.bill_nos)) == N
    for record in records:
        digits = 15 if record["屆"] >= 11 else 16
        assert len(record["議案編號"]) == digits and record["議案編號"].isdigit()


def test_flow_volume_and_stage_mix(records: list[dict]):
    flows = [r.get("議案流程") or [] for r in records]
    mean = sum(map(len, flows)) / N
    assert 6.0 < mean < 7.5  # ~1,000,000 entries at 150,000 bills
    statuses = Counter(e["狀態"].strip() for f in flows for e in f)
    assert not [s for s in statuses if classify(s) == "unknown"]
    assert {"交付審查", "三讀", "撤案", "繼續審查", "退回程序"} <= set(statuses)


def test_quirks_present(records: list[dict]):
    entries = [e for r in records for e in r.get("議案流程") or []]
    names = [n for r in records for n in r["提案人"] + r["連署人"]]
    assert any(e["日期"] == [""] for e in entries)  # empty date
    assert any(len(e["日期"]) == 2 for e in entries)  # two-day sitting
    assert any(e["狀態"].endswith(" ") for e in entries)  # trailing space
    assert "鄭天財Sra．Kacaw" in names and "鄭天財" in names  # both spellings
    assert any("\u3000" in n for n in names)  # full-width space inside a name
    out_of_order = 0
    for r in records:
        dates = [e["日期"][0] for e in r.get("議案流程") or [] if e["日期"] and e["日期"][0]]
        out_of_order += dates != sorted(dates)
    assert out_of_order > 0
    government = sum(r["提案來源"] == "政府提案" for r in records) / N
    assert 0.1 < government < 0.2


def test_law_distribution_is_skewed_with_a_long_tail(corpus: ScaleCorpus):
    sizes = sorted((len(v) for v in corpus.by_law.values()), reverse=True)
    assert sizes[0] > 20 * sizes[len(sizes) // 2]
    assert len(sizes) > 300


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_served_by_the_replay_with_filters_paging_and_sort(samples_dir: Path):
    with ReplayServer(samples_dir, scale=N, mutations=[7]) as server:
        corpus = server.data.scale
        base = f"{server.base_url}/v2"
        lo, hi = corpus.by_term[9]
        page = get(f"{base}/bills?{quote('屆')}=9&limit=100&page=2&sort={quote('議案編號<')}")
        assert page["total"] == hi - lo and page["total_page"] == -(-(hi - lo) // 100)
        assert [b["議案編號"] for b in page["bills"]] == sorted(corpus.bill_nos[lo:hi])[100:200]
        assert "議案流程" not in page["bills"][0]  # detail-only keys left out of lists
        code = corpus.record(lo)["法律編號"][0]
        by_law = get(f"{base}/laws/{code}/bills?limit=1000")
        assert corpus.bill_nos[lo] in {b["議案編號"] for b in by_law["bills"]}
        newest = get(f"{base}/bills?{quote('屆')}=8&limit=1")["bills"][0]  # LYAPI: newest first
        assert newest["議案編號"] == corpus.bill_nos[7] and newest["最新進度日期"] == CHANGED_ON
        detail = get(f"{base}/bills/{corpus.bill_nos[7]}")["data"]
        assert detail == corpus.record(7)


def test_a_changed_bill_is_the_same_bill_plus_one_stage_dated_after_the_capture(
    samples_dir: Path, corpus: ScaleCorpus
):
    """The refresh benchmark's "changed upstream": every mutated bill keeps its whole record and
    gains exactly one last stage, dated CHANGED_ON (a quirk once blanked that date: 1 in 100)."""
    changed = list(range(0, N, 30))
    mutated = ScaleCorpus(load_replay(samples_dir), N, mutations=changed)
    for i in changed:
        before, after = corpus.record(i), mutated.record(i)
        flow = before.get("議案流程") or []
        assert after["議案流程"][: len(flow)] == flow
        assert len(after["議案流程"]) == len(flow) + 1
        assert after["議案流程"][-1]["日期"] == [CHANGED_ON] and after["最新進度日期"] == CHANGED_ON
        moved = {"議案流程", "最新進度日期", "會議代碼", "議案狀態"}
        rest = {k: v for k, v in after.items() if k not in moved}
        assert rest == {k: v for k, v in before.items() if k in rest}
