"""Hardening, asserted: what the public site exposes, and how politely and safely spiders crawl.

Datasette in-process on the shared crawl, with exactly the settings `billtracker serve` uses.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import CIO_BILL
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

from billtracker.paths import METADATA, REPO_ROOT
from billtracker.serve.datasette import SETTINGS, datasette_app
from billtracker.serve.plugins.security import SECURITY_HEADERS


@pytest.fixture(scope="module")
def responses(crawled_db: Path) -> dict[str, object]:
    """One in-process Datasette; every request this module checks, made once."""
    ds = datasette_app(crawled_db)
    name = crawled_db.stem
    requests = {
        "html": ("GET", f"/{name}/bills"),
        "row": ("GET", f"/{name}/bills/{CIO_BILL}"),
        "json": ("GET", f"/{name}/bill_timeline.json?bill_no={CIO_BILL}&_shape=array"),
        "sql": ("GET", f"/{name}.json?sql=select+1"),
        "download": ("GET", f"/{name}.db"),
        "stream": ("GET", f"/{name}/stages.csv?_stream=on"),
        "post": ("POST", f"/{name}/bill_timeline?bill_no={CIO_BILL}"),
        "put": ("PUT", f"/{name}/bills"),
    }

    async def fetch() -> dict[str, object]:
        out = {}
        for key, (method, path) in requests.items():
            out[key] = await (ds.client.post(path) if method == "POST" else ds.client.request(method, path))
        return out

    return asyncio.run(fetch())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["html", "row", "json", "sql", "post"])
def test_security_headers_on_every_response(responses, kind: str):
    headers = responses[kind].headers
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name.decode()) == value.decode(), (kind, name)


@pytest.mark.slow
def test_pages_and_canned_queries_work(responses):
    assert responses["html"].status_code == 200
    assert responses["row"].status_code == 200
    assert responses["json"].status_code == 200 and responses["json"].json()


@pytest.mark.slow
def test_arbitrary_sql_is_off(responses):
    assert responses["sql"].status_code == 403


@pytest.mark.slow
def test_no_database_download_and_no_csv_stream(responses):
    assert responses["download"].status_code in (403, 404)
    assert responses["stream"].status_code == 400  # CSV streaming refused


@pytest.mark.slow
def test_nothing_writable_from_the_web(responses):
    assert responses["post"].status_code == 405
    assert responses["put"].status_code == 405
    metadata = json.loads(METADATA.read_text(encoding="utf-8"))
    for db in metadata["databases"].values():
        for name, query in db.get("queries", {}).items():
            assert not query.get("write"), f"canned query {name} writes"
            assert not re.match(
                r"\s*(insert|update|delete|replace|drop|alter|create|attach|pragma)\b", query["sql"], re.I
            ), name


def test_served_settings_decided_on_purpose():
    assert SETTINGS["default_allow_sql"] is False
    assert 0 < SETTINGS["sql_time_limit_ms"] <= 3000
    assert SETTINGS["max_returned_rows"] == 1000
    assert SETTINGS["allow_download"] is False


# --- spiders ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings():
    return get_project_settings()


def test_polite_and_closed_spider_settings(settings):
    assert settings.getbool("ROBOTSTXT_OBEY") is True
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    assert 0 < settings.getint("DOWNLOAD_MAXSIZE") <= 64 * 1024 * 1024
    assert settings.getfloat("DOWNLOAD_DELAY") >= 1
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert "billtracker" in settings.get("USER_AGENT")


def test_every_spider_names_its_domains(settings):
    loader = SpiderLoader.from_settings(settings)
    assert loader.list()
    for name in loader.list():
        spider = loader.load(name)
        domains = getattr(spider, "allowed_domains", None)
        assert domains, f"{name} has no allowed_domains"
        for domain in domains:
            assert "*" not in domain and "/" not in domain, (name, domain)
    assert loader.load("tw_ly_bills").custom_settings["DOWNLOAD_MAXSIZE"] == 16 * 1024 * 1024


SECRET_PATTERNS = [
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"AKIA[0-9A-Z]{16}",
    r"gh[pousr]_[A-Za-z0-9]{30,}",
    r"xox[abpr]-[A-Za-z0-9-]{10,}",
    r"(?i)(password|passwd|secret|api[_-]?key|token)\s*[=:]\s*['\"][^'\"\s]{8,}['\"]",
]


def test_no_secrets_in_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    found = []
    for rel in files.stdout.split():
        path = REPO_ROOT / rel
        if rel.startswith("tests/test_security.py") or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        found += [f"{rel}: {p}" for p in SECRET_PATTERNS if re.search(p, text)]
        if Path(rel).name in {".env", ".netrc", "id_rsa", "credentials.json"}:
            found.append(rel)
    assert found == []
