"""Scrapy settings for billtracker: polite by default, every choice with its reason.

Docs: https://docs.scrapy.org/en/latest/topics/settings.html
"""

from __future__ import annotations

BOT_NAME = "billtracker"
SPIDER_MODULES = ["scrapers.tw_ly", "scrapers.tw_law"]
NEWSPIDER_MODULE = "scrapers.tw_ly"

# Identify ourselves with a contact URL (DESIGN.md: politeness is part of correctness).
USER_AGENT = "billtracker/0.1 (+https://github.com/billtracker/billtracker; bills of the 立法院)"

# https://docs.scrapy.org/en/latest/topics/settings.html#robotstxt-obey
ROBOTSTXT_OBEY = True

# Scrapy 2.19's RemoteControl extension opens a code-executing HTTP server on localhost.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# One request per 1-3 s per host by default (2 s, randomised by ±50%).
# https://docs.scrapy.org/en/latest/topics/autothrottle.html
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
DOWNLOAD_DELAY_JITTER = 0.5  # replaces RANDOMIZE_DOWNLOAD_DELAY, deprecated in 2.19
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024

# Retry 429/5xx with exponential backoff honouring Retry-After (scrapers/middlewares.py).
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 120.0
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scrapers.middlewares.BackoffRetryMiddleware": 550,
    # Block pages and placeholders that come back as 200 (scrapers/health.py).
    "scrapers.health.BlockPageRetryMiddleware": 560,
    # The upstream URL a replayed response stands for: the source link readers follow.
    "scrapers.middlewares.UpstreamUrlMiddleware": 950,
}

ITEM_PIPELINES = {
    "pipelines.store.pipeline.StorePipeline": 300,
    "pipelines.store.sources.SourcePipeline": 310,
    # After the spider: merge every source into one record per bill (pipelines/reconcile/).
    "pipelines.reconcile.ReconcilePipeline": 900,
}
# `scrapy crawl` exits non-zero when a spider says the crawl failed (scrapers/commands/crawl.py).
COMMANDS_MODULE = "scrapers.commands"

# Issue 4: a scrape_runs row per crawl and a progress line every N seconds / N items.
EXTENSIONS = {"pipelines.store.runs.RunRecorder": 500}
# The scrape_runs row the job runner created for this crawl (0: the extension creates one).
BILLTRACKER_RUN_ID = 0
BILLTRACKER_PROGRESS_SECONDS = 10.0
BILLTRACKER_PROGRESS_ITEMS = 100
# Watch config synced into the `watches` table at the start of each crawl ("" = billtracker/watches.toml).
BILLTRACKER_WATCHES = ""

# Where items are stored. The CLI passes -s BILLTRACKER_DB=...
BILLTRACKER_DB = "billtracker.db"
# The store commits after this many items or seconds, whichever comes first (1: every item is
# its own transaction; the BULK profile batches 500).
BILLTRACKER_BATCH_ITEMS = 1
BILLTRACKER_BATCH_SECONDS = 2.0
# The store in a process of its own, beside Scrapy on a second core (the BULK profile).
BILLTRACKER_STORE_PROCESS = False
# Frozen "today" (YYYY-MM-DD) for tests; empty means the real Asia/Taipei date.
BILLTRACKER_TODAY = ""
# Replay URL prefix -> the upstream URL prefix it stands for (JSON on the command line); the
# replay fills it so stored source links name ly.govapi.tw etc., not a 127.0.0.1 that is gone.
BILLTRACKER_UPSTREAM: dict[str, str] = {}

# --- tw_ly_bills (ly.govapi.tw v2) ---
# The live API; the replay sets this to http://127.0.0.1:PORT/v2.
TW_LY_API_BASE = "https://ly.govapi.tw/v2"
# What billtracker follows, in one place (every job of billtracker/schedule.toml crawls it):
# every bill of the current term (the highest of TRACKED_TERMS), and every bill, of any term,
# on an organisational law: a law of LYAPI's /laws list whose 名稱 or 其他名稱 matches the pattern
# (組織法, 組織條例, 組織通則, 組織規程, 組織基準法, ...).
TW_LY_SCOPE = {"current_term": True, "law_name_pattern": "組織(基準)?(法|條例|通則|規程|準則)"}
# Explicit list queries (any /bills filter of the v2 swagger) instead of the scope; -a queries=...
# overrides both for one run. Empty: the scope.
TW_LY_BILLS_QUERIES: list[dict] = []
# Law codes per bills query when the scope lists organisational laws (several 法律編號 are OR'ed).
TW_LY_LAWS_PER_QUERY = 40
TW_LY_PAGE_LIMIT = 100
# LYAPI answers 413 past result 10,000 of a query (skill.md): bigger queries are split to fit.
TW_LY_RESULT_WINDOW = 10_000
# Follow 關連議案 to fetch related bills' details too.
TW_LY_FOLLOW_RELATED = True
# Fields to ask the list for (`output_fields`); the BULK profile asks for whole records so a
# backfill needs no detail request per bill. Empty: the API's default list fields + details.
TW_LY_LIST_FIELDS: list[str] = []

# --- tw_law_moj (law.moj.gov.tw) ---
# MOJ's bulk law export (unverified here: no network); the replay serves the recorded slices.
TW_LAW_MOJ_URLS = ["https://law.moj.gov.tw/api/Ch/Law/JSON"]
# Laws kept from a bulk export: 行政院組織法 (A0010032).
TW_LAW_MOJ_PCODES = ["A0010032"]

# A 200 block page or placeholder is retried this many times with the same backoff, then recorded
# as a problem: a placeholder rarely changes within minutes, so fewer tries than for a 5xx.
BLOCK_PAGE_RETRY_TIMES = 2

# --- every source: terms (屆) the crawl follows or knowingly skips (openstates' session drift) ---
# A source listing a term in neither list fails the crawl: upstream moved on and nobody decided.
TRACKED_TERMS = [9, 10, 11]
IGNORED_TERMS = [1, 2, 3, 4, 5, 6, 7, 8]

# --- tw_ly_ppg (議事暨公報資訊網): the official bill pages ---
TW_LY_PPG_BASE = "https://ppg.ly.gov.tw"
TW_LY_PPG_TERMS = [11]
TW_LY_PPG_PAGE_SIZE = 50
# A real detail page carries ~9 KB of navigation around the bill; less is a block or stub page.
TW_LY_PPG_MIN_BYTES = 9000

# --- tw_ly_opendata (data.ly.gov.tw): dataset 20 議案提案, 9 委員名單, 16 歷屆委員 ---
TW_LY_OPENDATA_BASE = "https://data.ly.gov.tw"
TW_LY_OPENDATA_FORMATS = ["CSV", "JSON"]
TW_LY_OPENDATA_ROSTERS = True

# --- tw_ly_legislators (ly.govapi.tw v2 /legislators): rosters of these terms ---
TW_LY_LEGISLATOR_TERMS = [9, 10, 11]

# --- tw_ly_lis (立法院法律系統) through its community mirrors (lis links expire) ---
TW_LY_LIS_BASE = "https://raw.githubusercontent.com"
# 立法歷程 per LY law code (kong0107/lis.ly, branch json).
TW_LY_LIS_LAWS = ["01010", "01011", "01021", "01050", "01073", "04401"]
# lis 法律提案 search results per term (thewayiam/twly_fileHandler).
TW_LY_LIS_BILL_FILES = ["thewayiam/twly_fileHandler/master/bill/crawler/bills_9.json"]

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
