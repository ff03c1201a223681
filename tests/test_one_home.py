"""Each fact with one home in the code: closed vocabularies, the in-committee set, the default
database. The API contract and canned queries that repeat a vocabulary are checked equal to its
home, so they cannot drift apart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from pipelines import evidence, history
from scrapers.stages import IN_COMMITTEE, STAGES

REPO = Path(__file__).resolve().parent.parent


def schemas() -> dict:
    return yaml.safe_load((REPO / "billtracker" / "openapi.yaml").read_text(encoding="utf-8"))["components"][
        "schemas"
    ]


def canned(name: str) -> str:
    metadata = json.loads((REPO / "datasette_metadata.json").read_text(encoding="utf-8"))
    return metadata["databases"]["billtracker"]["queries"][name]["sql"]


def test_openapi_stage_enum_is_the_stage_vocabulary_in_its_order() -> None:
    assert schemas()["StageSlug"]["enum"] == [s.slug for s in STAGES]


def test_openapi_change_kinds_are_history_kinds() -> None:
    assert schemas()["ChangeKind"]["enum"] == list(history.KINDS)


def test_openapi_evidence_kinds_are_the_evidence_vocabulary() -> None:
    assert schemas()["EvidenceKind"]["enum"] == [k.slug for k in evidence.KINDS] + [None]


def test_committee_queue_waits_on_the_in_committee_set() -> None:
    sql = canned("committee_queue")
    listed = re.search(r"l\.stage in \(([^)]*)\)", sql)
    assert listed, "committee_queue no longer filters on a stage list"
    assert {s.strip().strip("'") for s in listed.group(1).split(",")} == IN_COMMITTEE


def test_the_default_database_path_has_one_home() -> None:
    """`billtracker` commands and `scrapy crawl` default to the same file, named in one place."""
    from billtracker.cli_options import DEFAULT_DB
    from scrapers import settings

    assert DEFAULT_DB == settings.BILLTRACKER_DB
    for path in sorted((REPO / "billtracker").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert f'"{DEFAULT_DB}"' not in text, f"{path.relative_to(REPO)} names the default database itself"
