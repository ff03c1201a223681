"""How a spider runs: in its own process, with the settings a local replay needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from billtracker.jobs.spiders import source_replay_settings
from billtracker.paths import REPO_ROOT
from billtracker.replay.moj import moj_urls
from billtracker.replay.upstream import upstream_map


def replay_settings(base_url: str) -> dict[str, str]:
    """A local replay needs no politeness delay; everything else stays as in production."""
    return {
        "TW_LY_API_BASE": f"{base_url}/v2",
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
        "BACKOFF_BASE_SECONDS": "0.2",
        "TW_LAW_MOJ_URLS": ",".join(moj_urls(base_url)),
        **source_replay_settings(base_url),
        # Source links name the upstream a replayed record stands for, not the replay.
        "BILLTRACKER_UPSTREAM": json.dumps(upstream_map(base_url), ensure_ascii=False),
    }


def run_spider(spider: str, db: str, settings: dict[str, str], spider_args: dict[str, str]) -> int:
    """Each crawl in its own process: the Twisted reactor cannot restart in one process."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"BILLTRACKER_DB={db}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    for key, value in spider_args.items():
        cmd += ["-a", f"{key}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "scrapers.settings"}
    return subprocess.run(cmd, env=env, cwd=REPO_ROOT).returncode
