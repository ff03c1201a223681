"""Contract: every documented JSON endpoint's real response (Datasette in-process over the
two-snapshot crawl) validates against billtracker/openapi.yaml, with the headers it promises.
A renamed, added or retyped field fails here before a news site notices."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
import yaml

from billtracker.paths import METADATA, REPO_ROOT
from billtracker.serve.datasette import datasette_app
from billtracker.serve.plugins.api import API_QUERIES, CHANGES_PAGE_SIZE
from tests.conftest import CIO_BILL

SPEC = yaml.safe_load((REPO_ROOT / "billtracker" / "openapi.yaml").read_text(encoding="utf-8"))
QUERIES = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["billtracker"]["queries"]

# One call per endpoint that returns rows on the replay (an empty array proves nothing).
CALLS: dict[str, dict[str, str]] = {
    "bill_timeline": {"bill_no": CIO_BILL},
    "law_bills": {"law": "01010"},
    "search": {"q": "資訊總處"},
    "changes_since": {"since": ""},
    "bills_at_stage": {"stage": "third-reading"},
    "committee_queue": {"committee": "司法及法制委員會", "include_expired": "1"},
    "health": {},
    "legislator_bills": {"legislator": "鄭天財"},
    "bill_as_of": {
        "bill_no": CIO_BILL,
        "as_of": "2999-12-31",
    },  # the newest version  # spelled 鄭天財Sra．Kacaw on the bills
}


def schema_for(name: str) -> dict[str, Any]:
    operation = SPEC["paths"][f"/billtracker/{name}.json"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return {**schema, "components": SPEC["components"]}  # so "#/components/..." refs resolve


def fetch(db_path: Path, name: str, params: dict[str, str]) -> Any:
    async def go() -> Any:
        return await datasette_app(db_path).client.get(
            f"/billtracker/{name}.json?{urlencode({**params, '_shape': 'array'})}"
        )

    return asyncio.run(go())


def test_spec_covers_the_endpoints() -> None:
    assert {p.split("/")[-1].removesuffix(".json") for p in SPEC["paths"]} == set(CALLS)
    assert set(CALLS) <= set(QUERIES)
    jsonschema.Draft202012Validator.check_schema({**schema_for("health")})


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CALLS))
def test_endpoint_matches_contract(history_crawl: dict, name: str) -> None:
    response = fetch(history_crawl["db"], name, CALLS[name])
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list) and body, f"{name} returned no rows on the replay"
    jsonschema.validate(body, schema_for(name), cls=jsonschema.Draft202012Validator)
    assert response.headers["access-control-allow-origin"] == "*"
    expected = "no-store" if name == "health" else "public, max-age=60"
    assert name in API_QUERIES or name == "health"
    assert response.headers["cache-control"] == expected


@pytest.mark.slow
def test_contract_catches_a_shape_change(history_crawl: dict) -> None:
    """The check itself can fail: a renamed field or a changed type is rejected."""
    row = fetch(history_crawl["db"], "changes_since", {"since": ""}).json()[0]
    renamed = {("bill" if k == "bill_no" else k): v for k, v in row.items()}
    retyped = {**row, "id": str(row["id"])}
    for bad in (renamed, retyped):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate([bad], schema_for("changes_since"), cls=jsonschema.Draft202012Validator)


def test_page_size_matches_query() -> None:
    assert QUERIES["changes_since"]["sql"].rstrip().endswith(f"limit {CHANGES_PAGE_SIZE}")


@pytest.mark.slow
def test_feeds_are_cached_longer(history_crawl: dict) -> None:
    async def go() -> Any:
        return await datasette_app(history_crawl["db"]).client.get("/billtracker/changes_feed.atom")

    response = asyncio.run(go())
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
