"""One person across spellings; caucuses and government bodies told apart from legislators."""

from __future__ import annotations

import pytest

from pipelines.names import clean_name, person_key, sponsor_kind


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
