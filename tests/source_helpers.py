"""Helpers for the issue-3 spider tests: a spider with the project's real settings, and Scrapy
responses built from the replay's bodies or from the self-written ppg fixtures
(billtracker/replay/fixtures/ppg/)."""

from __future__ import annotations

import urllib.request
from typing import Any

import scrapy
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES, Settings
from scrapy.utils.test import get_crawler


def spider_for(cls: type[scrapy.Spider], **overrides: Any) -> Any:
    settings = Settings()
    settings.setmodule("scrapers.settings", priority="project")
    project = {k: settings[k] for k in settings if settings.getpriority(k) == SETTINGS_PRIORITIES["project"]}
    crawler = get_crawler(cls, {**project, **overrides})
    spider = cls.from_crawler(crawler)
    crawler.spider = spider
    crawler.stats.open_spider()
    return spider


def fetched(request: Request) -> TextResponse:
    """The replay's answer to this very request, as the downloader would hand it over."""
    with urllib.request.urlopen(request.url, timeout=10) as resp:
        status, body, headers = resp.status, resp.read(), dict(resp.headers)
    cls = HtmlResponse if "html" in headers.get("Content-Type", "") else TextResponse
    return cls(url=request.url, status=status, body=body, headers=headers, request=request)


def response_from(url: str, body: bytes, content_type: str = "text/html; charset=UTF-8") -> TextResponse:
    cls = HtmlResponse if "html" in content_type else TextResponse
    return cls(url=url, status=200, body=body, headers={"Content-Type": content_type}, request=Request(url))


def of(kind: type, results: list[Any]) -> list[Any]:
    return [r for r in results if isinstance(r, kind)]
