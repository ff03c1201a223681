"""The embed card for news sites (issue 13), in-process: self-contained (no script, nothing
fetched), the stage with its date, evidence and caveat, a link back; framable from any origin
while every other page stays unframable."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from billtracker.serve.datasette import datasette_app
from billtracker.serve.plugins.security import EMBED_HEADERS, SECURITY_HEADERS
from tests.conftest import CIO_BILL, TODAY


def get(db_path: Path, path: str) -> Any:
    async def fetch():  # type: ignore[no-untyped-def]
        return await datasette_app(db_path).client.get(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BILLTRACKER_TODAY", TODAY)
        return asyncio.run(fetch())


@pytest.mark.slow
def test_card_shows_stage_evidence_caveat_and_links_back(full_crawled_db: Path) -> None:
    response = get(full_crawled_db, f"/-/embed/bill/{CIO_BILL}")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    assert "行政院組織法第六條條文修正草案" in soup.select_one("h1").get_text()
    reached = [li["data-milestone"] for li in soup.select("ol.milestones li.reached")]
    assert reached == ["filed", "first-reading", "committee"]  # the bill page's strip
    now = soup.select_one(".now")
    assert now["data-stage"] == "committee-listed" and "2017-03-22" in now.get_text()
    assert now.select_one(".evidence")["data-evidence-kind"] == "flow"
    assert "as of 2018-11-01" in soup.select_one(".note").get_text()  # never the stage alone
    assert soup.select_one("h1 a")["href"].endswith(f"/-/bill/{CIO_BILL}")
    assert soup.select_one("h1 a")["target"] == "_blank"


@pytest.mark.slow
def test_card_is_self_contained(full_crawled_db: Path) -> None:
    soup = BeautifulSoup(get(full_crawled_db, f"/-/embed/bill/{CIO_BILL}").text, "html.parser")
    assert not soup.select("script, link[rel=stylesheet], img, iframe, form")
    style = soup.select_one("style").get_text()
    assert "prefers-color-scheme: dark" in style and "url(" not in style


@pytest.mark.slow
def test_only_the_embed_may_be_framed(full_crawled_db: Path) -> None:
    card = get(full_crawled_db, f"/-/embed/bill/{CIO_BILL}").headers
    assert "x-frame-options" not in card
    assert card["content-security-policy"] == EMBED_HEADERS[b"content-security-policy"].decode()
    assert "frame-ancestors *" in card["content-security-policy"]
    assert "script-src" not in card["content-security-policy"]  # default-src 'none': no script
    assert card["x-content-type-options"] == "nosniff"
    for path in ("/", f"/-/bill/{CIO_BILL}", "/billtracker/bills", "/-/embed/"):
        headers = get(full_crawled_db, path).headers
        assert headers["x-frame-options"] == "DENY", path
        assert headers["content-security-policy"] == SECURITY_HEADERS[b"content-security-policy"].decode()


@pytest.mark.slow
def test_unknown_bill_is_a_plain_404(full_crawled_db: Path) -> None:
    response = get(full_crawled_db, "/-/embed/bill/1234")
    assert response.status_code == 404 and "<script" not in response.text
