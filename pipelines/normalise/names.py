"""Names of sponsors as one identity across spellings.

The same legislator appears as 鄭天財 (open data) and 鄭天財Sra．Kacaw (misq, LYAPI); open data
pads names with U+3000. The key is the leading Han run when there is one, else the Latin name.
Issue 3 extends this with the legislator lists; until then this keeps 1051006070201100's 19
cosponsors as 19 people. Issue 10: names are matched to the rosters whatever the middle dot
(高潞‧以用‧巴魕剌 in dataset 20, 高潞．以用．巴魕剌 in the roster), the spacing (Kolas　　Yotaka)
or the case (kolas Yotaka), and a Han name glued to another's Latin one (黃偉哲Kolas Yotaka)
is two people when the roster knows both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

_SPACES = re.compile(r"\s+")
_DOTS = "‧．·•・."  # U+2027, U+FF0E, U+00B7, U+2022, U+30FB, ASCII: all seen or plausible
_HAN_RUN = re.compile(f"^[\u3400-\u9fff\uf900-\ufaff{_DOTS}]+")
_FOLD = re.compile(f"[\\s{_DOTS}]+")
_GLUED = re.compile(f"^(?P<han>[\u3400-\u9fff\uf900-\ufaff{_DOTS}]+?)[{_DOTS}\\s]*(?P<latin>[A-Za-z].*)$")
_CAUCUS = re.compile(r"黨團$")
_GOVERNMENT = re.compile(r"^(行政院|司法院|考試院|監察院)")


def clean_name(raw: str) -> str:
    """Strip every kind of whitespace (U+3000 included), keep spelling otherwise."""
    return _SPACES.sub("", raw or "")


def person_key(raw: str) -> str:
    """A stable key for one person: 鄭天財Sra．Kacaw -> 鄭天財."""
    name = clean_name(raw)
    han = _HAN_RUN.match(name)
    if han:
        return han.group(0).rstrip(_DOTS)
    return unicodedata.normalize("NFKC", name)


def sponsor_kind(raw: str) -> str:
    """'caucus' for 時代力量黨團, 'government' for 行政院, otherwise 'legislator'."""
    name = clean_name(raw)
    if _CAUCUS.search(name):
        return "caucus"
    if _GOVERNMENT.match(name):
        return "government"
    return "legislator"


_LATIN_TAIL = re.compile(r"[A-Za-z][A-Za-z .'．·-]*$")


def legislator_aliases(raw: str, ename: str = "") -> set[str]:
    """Every spelling under which a roster's legislator appears in bill records.

    谷辣斯．尤達卡Kolas Yotaka is also just "Kolas Yotaka" (LYAPI, 10th term) and 谷辣斯．尤達卡;
    鄭天財Sra．Kacaw is also 鄭天財. The English roster name joins only when it is the person's
    own name in Latin letters (Kolas Yotaka), not a romanisation (Jeng Tian-Tsair) no bill uses,
    but a romanisation is harmless as an alias too: it cannot collide with a Han name.
    """
    name = clean_name(raw)
    aliases = {name, person_key(raw)}
    tail = _LATIN_TAIL.search(unicodedata.normalize("NFKC", name))
    if tail and tail.start() > 0:
        aliases.add(tail.group(0).strip())
    if ename.strip():
        aliases.add(unicodedata.normalize("NFKC", ename.strip()))
    return {a for a in aliases if a}


def alias_key(raw: str) -> str:
    """What an alias index is looked up by: whitespace and middle dots gone, full-width Latin
    folded, case folded: 高潞‧以用‧巴魕剌 == 高潞．以用．巴魕剌, Kolas　　Yotaka == kolas Yotaka."""
    return _FOLD.sub("", unicodedata.normalize("NFKC", raw or "")).casefold()


def name_parts(raw: str) -> list[str]:
    """'黃偉哲Kolas Yotaka' -> ['黃偉哲', 'Kolas Yotaka']; a name without both parts -> [name]."""
    name = (raw or "").strip()
    glued = _GLUED.match(name)
    if not glued:
        return [name] if name else []
    return [glued.group("han").rstrip(_DOTS), glued.group("latin").strip()]


def identities(raw: str, index: Mapping[str, str]) -> list[str]:
    """The people a published name stands for, as roster ids where the roster (`index`:
    alias_key -> id) knows them. One spelling of one legislator is one id; a Han part and a Latin
    part the roster gives to two people are two (1070329070200800: 黃偉哲Kolas Yotaka); a name
    the roster does not know is its person_key."""
    found = index.get(alias_key(raw))
    if found:
        return [found]
    parts = name_parts(raw)
    if len(parts) == 2:
        han, latin = (index.get(alias_key(p)) for p in parts)
        if han and latin:
            return list(dict.fromkeys([han, latin]))
        if han:
            return [han]  # 鄭天財Sra．Kacaw when the roster knows 鄭天財 only
    key = person_key(raw)
    return [index.get(alias_key(key)) or key]
