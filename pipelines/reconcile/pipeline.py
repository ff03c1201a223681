"""ReconcilePipeline: every crawl leaves the database reconciled (scrapers/settings.py, 900)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pipelines.reconcile.orchestrator import reconcile


class ReconcilePipeline:
    """Runs reconcile once the spider is done: every crawl leaves the database reconciled."""

    def __init__(self, db_path: str, today: date, crawler: Any = None) -> None:
        self.db_path = db_path
        self.today = today
        self.crawler = crawler
        # Bills this crawl touched; None once an item could touch any bill (a source record,
        # a law's text or versions, a legislator roster): then everything is reconciled.
        self.touched: set[str] | None = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> ReconcilePipeline:
        from scrapers.clock import taipei_today

        settings = crawler.settings
        return cls(settings.get("BILLTRACKER_DB"), taipei_today(settings.get("BILLTRACKER_TODAY")), crawler)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        from scrapers.items import BillItem, FetchItem, ProblemItem

        if isinstance(item, BillItem):
            if self.touched is not None:
                self.touched.add(item.bill_no)
                for related in item.record.get("關連議案") or []:
                    if isinstance(related, dict) and related.get("議案編號"):
                        self.touched.add(str(related["議案編號"]))
        elif not isinstance(item, FetchItem | ProblemItem):
            self.touched = None
        return item

    def close_spider(self, spider: Any = None) -> None:
        from pipelines.schema import open_db

        db = open_db(self.db_path)
        stats = self.crawler.stats if self.crawler else None
        try:
            reconcile(db, self.today, stats.get_value("billtracker/run_id") if stats else None, self.touched)
        finally:
            db.close()
