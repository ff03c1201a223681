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
# Where each recorded file is published (samples/PROVENANCE.md §5: kong0107/mojLawSplitJSON, split
# unchanged out of MOJ's bulk export), pinned to the commit the sample was taken from.
MIRROR = "https://raw.githubusercontent.com/kong0107/mojLawSplitJSON"
UPSTREAM = {
    ("ch", "A0010032.json"): f"{MIRROR}/269a8098917a880da4d233d2ecd767b90c443847/ch/A0010032.json",
    (
        "2019",
        "A0010032.json",
    ): f"{MIRROR}/d7b0e171e24b2534aa5e5140044a533689ae8109/FalVMingLing/A0010032.json",
}


def moj_urls(base_url: str) -> list[str]:
    """The replay URLs of every recorded MOJ law file, for TW_LAW_MOJ_URLS."""
    return [f"{base_url}/moj/{folder}/{name}" for folder, name in FILES]


def moj_upstream(base_url: str) -> dict[str, str]:
    """Replay URL -> the published file it serves, for BILLTRACKER_UPSTREAM."""
    return {f"{base_url}/moj/{folder}/{name}": UPSTREAM[(folder, name)] for folder, name in FILES}


def route(samples_dir: Path, parts: list[str]) -> tuple[int, bytes, dict[str, str]] | None:
    """Serve /moj/<folder>/<pcode>.json, or None when the path is not one of ours."""
    name = FILES.get(tuple(parts))  # type: ignore[arg-type]
    if name is None:
        return None
    return 200, (samples_dir / "law.moj.gov.tw" / name).read_bytes(), {"Content-Type": JSON_TYPE}
