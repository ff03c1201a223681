"""One person across spellings; caucuses and government bodies told apart from legislators."""

from __future__ import annotations

import pytest

from pipelines.normalise.names import (
    alias_key,
    clean_name,
    identities,
    legislator_aliases,
    name_parts,
    person_key,
    sponsor_kind,
)


@pytest.mark.parametrize(
    "spelling", ["鄭天財Sra．Kacaw", "鄭天財", "鄭天財\u3000\u3000 ", " 鄭天財 Sra．Kacaw"]
)
def test_one_key_for_three_spellings(spelling: str) -> None:
    assert person_key(spelling) == "鄭天財"


def test_indigenous_name_keeps_its_han_part() -> None:
    assert person_key("谷辣斯．尤達卡Kolas Yotaka") == "谷辣斯．尤達卡"
    assert person_key("高潞．以用．巴魕剌Kawlo．Iyun．Pacidal") == "高潞．以用．巴魕剌"


def test_a_name_without_han_is_its_own_key() -> None:
    assert person_key("Kolas Yotaka") == "KolasYotaka"
    assert person_key("Ｋｏｌａｓ") == "Kolas"  # full-width Latin folded


def test_two_people_stay_two() -> None:
    assert person_key("張宏陸") != person_key("陳賴素美")


def test_clean_name_removes_full_width_spaces_only() -> None:
    assert clean_name("陳\u3000瑩 ") == "陳瑩"
    assert clean_name("鄭天財Sra．Kacaw") == "鄭天財Sra．Kacaw"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("時代力量黨團", "caucus"),
        ("中國國民黨立法院黨團", "caucus"),
        ("行政院", "government"),
        ("司法院", "government"),
        ("考試院", "government"),
        ("許毓仁", "legislator"),
        ("鄭天財Sra．Kacaw", "legislator"),
        ("\u3000時代力量黨團\u3000", "caucus"),
    ],
)
def test_sponsor_kind(raw: str, kind: str) -> None:
    assert sponsor_kind(raw) == kind


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("高潞‧以用‧巴魕剌", "高潞．以用．巴魕剌"),  # U+2027 in dataset 20, U+FF0E in the roster
        ("Kolas　　Yotaka", "Kolas Yotaka"),
        ("kolas Yotaka", "Kolas Yotaka"),
        ("Kolas‧Yotaka", "Kolas Yotaka"),
        ("Sra Kacaw", "Sra．Kacaw"),
        ("Kawlo•Iyun·Pacidal", "Kawlo．Iyun．Pacidal"),
    ],
)
def test_alias_key_folds_dots_spaces_and_case(one: str, other: str) -> None:
    assert alias_key(one) == alias_key(other)


def test_alias_key_keeps_two_people_apart() -> None:
    assert alias_key("陳明文") != alias_key("陳文明")


def test_person_key_keeps_every_middle_dot_of_the_han_part() -> None:
    assert person_key("高潞‧以用‧巴魕剌Kawlo．Iyun．Pacidal") == "高潞‧以用‧巴魕剌"


def test_name_parts_splits_han_from_latin() -> None:
    assert name_parts("黃偉哲Kolas Yotaka") == ["黃偉哲", "Kolas Yotaka"]
    assert name_parts("高潞‧以用‧巴魕剌Kawlo．Iyun．Pacidal") == ["高潞‧以用‧巴魕剌", "Kawlo．Iyun．Pacidal"]
    assert name_parts("Kolas Yotaka") == ["Kolas Yotaka"]
    assert name_parts("陳明文") == ["陳明文"]


def roster_index() -> dict[str, str]:
    """The alias index reconcile builds, from the 9th-term roster's own spellings (dataset 9)."""
    index: dict[str, str] = {}
    for name, ename in (
        ("谷辣斯．尤達卡Kolas Yotaka", "Kolas Yotaka"),
        ("鄭天財Sra．Kacaw", "Jeng Tian-Tsair"),
        ("高潞．以用．巴魕剌Kawlo．Iyun．Pacidal", "Kawlo．Iyun．Pacidal"),
        ("黃偉哲", "Huang Wei-Cher"),
    ):
        for alias in legislator_aliases(name, ename):
            index[alias_key(alias)] = person_key(name)
    return index


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        ("Kolas Yotaka", ["谷辣斯．尤達卡"]),
        ("kolas Yotaka", ["谷辣斯．尤達卡"]),
        ("Kolas‧Yotaka", ["谷辣斯．尤達卡"]),
        ("鄭天財Sra Kacaw", ["鄭天財"]),
        ("鄭天財Sra．Kacaw", ["鄭天財"]),
        ("Sra Kacaw", ["鄭天財"]),
        ("高潞‧以用‧巴魕剌Kawlo．Iyun．Pacidal", ["高潞．以用．巴魕剌"]),
        ("高潞‧以用‧巴魕剌Kawlo．Iyun．Pacida", ["高潞．以用．巴魕剌"]),  # dataset 20 cut the last letter
        ("黃偉哲Kolas Yotaka", ["黃偉哲", "谷辣斯．尤達卡"]),  # 1070329070200800: two people glued
        ("陳明文", ["陳明文"]),  # not in this roster: its person key
    ],
)
def test_identities_match_the_roster(raw: str, ids: list[str]) -> None:
    assert identities(raw, roster_index()) == ids
