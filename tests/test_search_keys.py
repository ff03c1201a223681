"""Search keys: Traditional and Simplified meet character by character, lengths kept."""

from __future__ import annotations

import pytest

from pipelines.normalise.search_keys import search_key


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [("行政院資訊總處", "行政院资讯总处"), ("組織法第六條", "组织法第六条"), ("資訊長", "资讯长")],
)
def test_both_scripts_give_one_key(traditional: str, simplified: str) -> None:
    assert search_key(traditional) == search_key(simplified) == simplified


def test_character_level_keeps_length_and_words() -> None:
    """Phrase-level configs rewrite words (資訊 -> 信息 in Taiwan-to-mainland modes): not here."""
    text = "本院委員許毓仁等20人，爰擬具「行政院組織法第六條」條文修正草案，增設行政院資訊總處。"
    key = search_key(text)
    assert len(key) == len(text)
    assert "资讯" in key and "信息" not in key


def test_substring_key_is_key_substring() -> None:
    text = "政府資訊機構人員設置管理條例草案"
    assert search_key(text[2:6]) in search_key(text)


def test_empty() -> None:
    assert search_key(None) == search_key("") == ""
