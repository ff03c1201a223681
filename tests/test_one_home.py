"""Each fact with one home in the code: closed vocabularies, the in-committee set, the default
database. The API contract and canned queries that repeat a vocabulary are checked equal to its
home, so they cannot drift apart."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from pipelines.history import versions as history
from pipelines.normalise import evidence
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
    from billtracker.cli.options import DEFAULT_DB
    from scrapers import settings

    assert DEFAULT_DB == settings.BILLTRACKER_DB
    for path in sorted((REPO / "billtracker").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert f'"{DEFAULT_DB}"' not in text, f"{path.relative_to(REPO)} names the default database itself"


SETTING_READ = re.compile(r"settings\.get(?:int|float|bool|list|dict)?\(\s*\"([A-Z][A-Z0-9_]*)\"\s*(,)?")


def test_every_setting_a_component_reads_has_its_default_in_the_settings_module() -> None:
    """A Scrapy setting's default lives in scrapers/settings.py only: a component that reads it
    with its own fallback would disagree with the module the day one of them changes."""
    from scrapy.settings import default_settings

    from scrapers import settings

    read: set[str] = set()
    fallbacks = []
    for folder in ("scrapers", "pipelines"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for match in SETTING_READ.finditer(path.read_text(encoding="utf-8")):
                read.add(match.group(1))
                if match.group(2):
                    fallbacks.append(f"{path.relative_to(REPO)}: {match.group(1)}")
    assert read, "no settings reads found: the pattern no longer matches the code"
    ours = {name for name in read if not hasattr(default_settings, name)}
    assert {name for name in ours if not hasattr(settings, name)} == set()
    assert fallbacks == []


def test_spiders_import_nothing_from_pipelines() -> None:
    """Data flows from scrapers/ into pipelines/, never back: a spider that imports a pipeline
    module ties fetching to storing (and made import circles possible)."""
    import ast

    offenders = []
    for path in sorted((REPO / "scrapers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "pipelines"]
    assert offenders == []


def test_the_clock_has_one_home() -> None:
    """utc_now and taipei_today are defined in scrapers/clock.py and nowhere else."""
    import ast

    where = []
    for folder in ("billtracker", "pipelines", "scrapers"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.FunctionDef) and node.name in ("utc_now", "taipei_today"):
                    where.append(str(path.relative_to(REPO)))
    assert sorted(set(where)) == ["scrapers/clock.py"]
