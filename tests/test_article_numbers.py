"""Article numbers: Chinese numerals in bills and MOJ's digits meet as one sortable key."""

from __future__ import annotations

import pytest

from pipelines.normalise.article_numbers import (
    article_key,
    article_label,
    cn_int,
    parse_article,
    split_article,
)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("六", 6),
        ("十", 10),
        ("十四", 14),
        ("二十七", 27),
        ("六十三", 63),
        ("一百三十", 130),
        ("一百零一", 101),
        ("二〇二三", 2023),
        ("１２", 12),
        ("12", 12),
        ("兩百", 200),
    ],
)
def test_cn_int(text: str, number: int) -> None:
    assert cn_int(text) == number


def test_cn_int_rejects_words() -> None:
    with pytest.raises(ValueError):
        cn_int("條文")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("第六條", (6, 0)),
        ("第十二條之三", (12, 3)),
        ("第六十三條之一", (63, 1)),
        ("第 6 條", (6, 0)),
        ("第 12-3 條", (12, 3)),
        ("第12條之3", (12, 3)),
        ("刪除第八十四條之一條文", (84, 1)),
        ("部分條文", None),
    ],
)
def test_parse_article(text: str, number: tuple[int, int] | None) -> None:
    assert parse_article(text) == number


def test_keys_sort_like_the_law() -> None:
    spellings = ["第十三條", "第十二條之三", "第二條", "第十二條", "第 12-1 條", "第一百條"]
    ordered = sorted(spellings, key=lambda s: article_key(*parse_article(s)))
    assert ordered == ["第二條", "第十二條", "第 12-1 條", "第十二條之三", "第十三條", "第一百條"]


def test_key_and_label_match_moj() -> None:
    assert article_key(6) == "0006-00" and article_key(12, 3) == "0012-03"
    assert article_label(6) == "第 6 條" and article_label(12, 3) == "第 12-3 條"


def test_split_article() -> None:
    assert split_article("第十四條　中華民國國民，年滿十八歲，有選舉權。") == (
        "第十四條",
        "中華民國國民，年滿十八歲，有選舉權。",
    )
    assert split_article("行政院設中央銀行。") == ("", "行政院設中央銀行。")
