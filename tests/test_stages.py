"""The stage vocabulary against every status string the real samples contain.

A new upstream string that no rule maps fails here (CI), instead of silently becoming ``unknown``
rows in production.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scrapers.stages import LABELS, RULES, SLUGS, STAGES, classify, clean_status, committee_in_status

MISQ = "misq.ly.gov.tw_bill-detail_parsed"
# lis twly_bills_9 prefixes 進度 with the ROC date and blanks: "1060322   委員會審議中".
_ROC_DATE_PREFIX = re.compile(r"^\d{6,7}\s+")


def _load(path: Path) -> object:
    return json.loads(path.read_text("utf-8"))


def sample_statuses(samples: Path) -> dict[str, set[str]]:
    """Every distinct status string in the samples -> the files it came from."""
    found: dict[str, set[str]] = {}

    def add(raw: object, where: Path) -> None:
        if isinstance(raw, str) and raw.strip():
            found.setdefault(raw, set()).add(where.name)

    for path in sorted((samples / MISQ).glob("bill-detail_*.json")):
        detail = _load(path)
        add(detail.get("議案狀態"), path)
        for entry in detail.get("議案流程") or []:
            add(entry.get("狀態"), path)
    for path in sorted((samples / MISQ).glob("proposal_*.json")):
        add((_load(path).get("csv") or {}).get("billStatus"), path)
    for name in ("ly-mcp_bill_detail.json", "ly-mcp_bills_list.json"):
        path = samples / "ly.govapi.tw_v2" / name
        body = _load(path)
        for record in [body["data"]] if "data" in body else body["bills"]:
            add(record.get("議案狀態"), path)
            for entry in record.get("議案流程") or []:
                add(entry.get("狀態"), path)
    twly = samples / "lis.ly.gov.tw" / "twly_bills_9.extract_organisational-laws.json"
    for record in _load(twly):
        add(_ROC_DATE_PREFIX.sub("", record.get("進度") or ""), twly)
    for path in sorted((samples / "lis.ly.gov.tw").glob("kong0107-lis.ly_json_*.json")):
        for entry in _load(path).get("law_history") or []:
            add(entry.get("進度"), path)
    return found


def test_every_sample_status_maps_to_a_known_stage(samples_dir: Path) -> None:
    found = sample_statuses(samples_dir)
    # Guard against the collector silently finding nothing (e.g. a renamed folder).
    assert {
        "排入院會(交司法及法制委員會)",
        "尚未審查",
        "一讀(委員會待審)",
        "委員會審議中",
        "黨團協商",
    } <= set(found)
    assert len(found) >= 30
    unmapped = {raw: sorted(files)[:3] for raw, files in found.items() if classify(raw) == "unknown"}
    assert unmapped == {}, f"add a rule in scrapers/stages.py for: {unmapped}"
    assert {classify(raw) for raw in found} <= SLUGS


def test_roc_date_prefix_is_stripped_before_classifying(samples_dir: Path) -> None:
    found = sample_statuses(samples_dir)
    assert not any(_ROC_DATE_PREFIX.match(raw) for raw in found)
    assert classify("1060322   委員會審議中") == "unknown"  # why the collector strips it


@pytest.mark.parametrize(
    ("raw", "slug"),
    [
        ("排入院會(交司法及法制委員會)", "first-reading"),
        ("排入院會（交內政委員會）", "first-reading"),  # full-width brackets
        ("排入院會", "scheduled"),
        ("排入程序", "scheduled"),
        ("排入院會(討論事項)", "second-reading"),
        ("程序緩列", "deferred"),
        ("退回程序", "returned"),
        ("退回程序委員會", "returned"),
        ("一讀", "first-reading"),
        ("一讀(委員會待審)", "first-reading"),
        ("交付審查", "referred"),
        ("改交其他委員會審查", "re-referred"),
        ("尚未審查", "committee-listed"),
        ("委員會審查", "committee-review"),
        ("繼續審查", "committee-review"),
        ("委員會審議中", "committee-review"),
        ("委員會", "committee-review"),
        ("審查完畢", "committee-reported"),
        ("審查完畢(逾審查期限)", "committee-reported"),
        ("委員會審竣", "committee-reported"),
        ("委員會發文", "committee-reported"),
        ("逕付二讀", "direct-second-reading"),
        ("逕付二讀(委員會抽出)", "direct-second-reading"),
        ("委員會抽出逕付二讀", "direct-second-reading"),
        ("交付協商", "negotiation"),
        ("黨團協商", "negotiation"),
        ("二讀(廣泛討論)", "second-reading"),
        ("二讀(逐條討論)", "second-reading"),
        ("二讀(已議決)", "second-reading"),
        ("三讀", "third-reading"),
        ("復議", "reconsideration"),
        ("撤案", "withdrawn"),
        ("撤回", "withdrawn"),
        ("同意撤回", "withdrawn"),
        ("不予審議", "rejected"),
        ("交付查照", "noted"),
        ("函復機關", "noted"),
        ("交付審查 ", "referred"),  # trailing blank (1050307070200500-style)
        ("\u3000交付審查\u3000", "referred"),  # full-width spaces
        ("審查 完畢", "committee-reported"),  # a blank inside
        ("院會決議另定期處理", "unknown"),
        ("", "unknown"),
        ("委員會審查中止", "unknown"),  # anchored: a longer text is not silently a known stage
    ],
)
def test_rule(raw: str, slug: str) -> None:
    assert classify(raw) == slug


@pytest.mark.parametrize(
    ("raw", "committee"),
    [
        ("排入院會(交司法及法制委員會)", "司法及法制委員會"),
        ("排入院會（交社會福利及衛生環境委員會） ", "社會福利及衛生環境委員會"),
        ("排入院會", None),
        ("交付審查", None),
    ],
)
def test_committee_in_status(raw: str, committee: str | None) -> None:
    assert committee_in_status(raw) == committee


def test_clean_status_removes_every_kind_of_space() -> None:
    assert clean_status(" 審查完畢(逾審查期限)\u3000\t") == "審查完畢(逾審查期限)"
    assert clean_status(None) == ""  # type: ignore[arg-type]


def test_every_slug_has_a_chinese_label() -> None:
    assert len(SLUGS) == len(STAGES)  # no slug defined twice
    for slug in SLUGS:
        assert re.fullmatch(r"[\u4e00-\u9fff]+", LABELS[slug]), slug


def test_only_derived_stages_lack_a_rule() -> None:
    """filed comes from 提案日期, expired is derived, unknown is the fallback: all else has a rule."""
    assert {rule.slug for rule in RULES} <= SLUGS
    targeted = {rule.slug for rule in RULES}
    # Only derived or non-議案流程 stages lack a rule.
    assert SLUGS - targeted == {"filed", "expired", "unknown"}
