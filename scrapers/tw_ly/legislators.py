"""tw_ly_legislators: the legislator roster of ly.govapi.tw v2 (/v2/legislators?屆=N), one
LegislatorItem per legislator and term, so `legislators` knows each person's spellings across
terms (Kolas Yotaka / 谷辣斯．尤達卡Kolas Yotaka) beside open data's dataset 9."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from scrapers.health import check_term
from scrapers.items import LegislatorItem
from scrapers.tw_ly.common import SourceSpider
from scrapers.tw_ly.responses import BadBody, fetch_item, provenance, read_json


class TwLyLegislatorsSpider(SourceSpider):
    name = "tw_ly_legislators"
    source = "lyapi"
    allowed_domains = ["ly.govapi.tw", "v2.ly.govapi.tw", "127.0.0.1", "localhost"]

    def list_url(self, term: int, page: int) -> str:
        base = self.settings.get("TW_LY_API_BASE").rstrip("/")
        limit = self.settings.getint("TW_LY_PAGE_LIMIT")
        return f"{base}/legislators?{urlencode({'屆': term, 'page': page, 'limit': limit})}"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for term in self.settings.getlist("TW_LY_LEGISLATOR_TERMS"):
            yield self.request(self.list_url(int(term), 1), self.parse_list, term=int(term), page=1)

    def parse_list(self, response: Response, term: int, page: int) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        try:
            body = read_json(response)
            people = body["legislators"]
            total_page = int(body.get("total_page") or 0)
            if not isinstance(people, list):
                raise BadBody("wrong-shape", "'legislators' is not a list")
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        except (KeyError, TypeError, ValueError) as exc:
            yield self.problem(response, "wrong-shape", f"legislator list without {exc}")
            return
        if not people:
            # Every term has legislators: an empty page is a broken answer, not an empty term.
            yield self.problem(response, "empty-page", f"page {page} of term {term} lists nobody")
            return
        prov = provenance(response, self.name)
        for i, person in enumerate(people, start=1):
            name = str(person.get("委員姓名") or "").strip()
            if not name:
                yield self.problem(response, "wrong-shape", f"entry {i} without 委員姓名")
                continue
            if not check_term(self, self.source, person.get("屆"), f"{response.url} entry {i}"):
                continue
            yield LegislatorItem(
                term=str(person.get("屆") or ""),
                name_raw=name,
                ename=str(person.get("委員英文姓名") or ""),
                party=str(person.get("黨籍") or ""),
                record=person,
                provenance=prov,
                source=self.source,
            )
        if page < total_page:
            yield self.request(self.list_url(term, page + 1), self.parse_list, term=term, page=page + 1)
