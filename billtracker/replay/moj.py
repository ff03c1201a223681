"""Replay of law.moj.gov.tw law JSON: the recorded files in samples/law.moj.gov.tw, verbatim.

Both are slices of MOJ's bulk export (PROVENANCE.md §5): `ch/<pcode>.json` is the current
English-keyed format, `2019/<pcode>.json` the 2019 Chinese-keyed export (the text in force
during the 9th term).
"""

from __future__ import annotations

from pathlib import Path

FILES = {
    ("ch", "A0010032.json"): "mojLawSplitJSON_split_ch_A0010032.json",
    ("2019", "A0010032.json"): "mojLawSplitJSON_tag20190104_FalVMingLing_A0010032.json",
}
JSON_TYPE = "application/json; charset=utf-8"


def moj_urls(base_url: str) -> list[str]:
    """The replay URLs of every recorded MOJ law file, for TW_LAW_MOJ_URLS."""
    return [f"{base_url}/moj/{folder}/{name}" for folder, name in FILES]


def route(samples_dir: Path, parts: list[str]) -> tuple[int, bytes, dict[str, str]] | None:
    """Serve /moj/<folder>/<pcode>.json, or None when the path is not one of ours."""
    name = FILES.get(tuple(parts))  # type: ignore[arg-type]
    if name is None:
        return None
    return 200, (samples_dir / "law.moj.gov.tw" / name).read_bytes(), {"Content-Type": JSON_TYPE}
