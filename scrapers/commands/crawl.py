"""`scrapy crawl` that exits 1 when the spider reports a failed crawl.

Scrapy's own command exits 0 whenever the engine started; a source listing a term nobody
configured (scrapers/health.py) must fail the scheduled job loudly instead.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

FAILED_STAT = "billtracker/crawl_failed"


class Command(ScrapyCrawl):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        failed = crawler.stats.get_value(FAILED_STAT) if crawler.stats else None
        if self.crawler_process.bootstrap_failed or failed:
            if failed:
                print(f"crawl failed: {failed}", flush=True)
            self.exitcode = 1
