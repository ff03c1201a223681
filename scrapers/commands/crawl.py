"""`scrapy crawl` that exits 1 when the spider reports a failed crawl or the run lost requests.

Scrapy's own command exits 0 whenever the engine started; a source listing a term nobody
configured (scrapers/health.py) must fail the scheduled job loudly instead, and so must a run
that ended `partial` (pipelines/store/runs.py: some requests' data was not obtained), saying how much.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

FAILED_STAT = "billtracker/crawl_failed"
# Set by pipelines.store.runs.RunRecorder when the spider closes.
RUN_STATUS_STAT = "billtracker/run_status"
MISSED_STAT = "billtracker/missed"


class Command(ScrapyCrawl):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        stats = crawler.stats
        failed = stats.get_value(FAILED_STAT) if stats else None
        if self.crawler_process.bootstrap_failed or failed:
            if failed:
                print(f"crawl failed: {failed}", flush=True)
            self.exitcode = 1
        elif stats and stats.get_value(RUN_STATUS_STAT) == "partial":
            run_id = stats.get_value("billtracker/run_id")
            missed = stats.get_value(MISSED_STAT)
            print(
                f"crawl partial: run {run_id} missed {missed} request(s), their data not obtained; "
                f"fetch them again with -a retry_of={run_id}",
                flush=True,
            )
            self.exitcode = 1
