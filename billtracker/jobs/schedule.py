"""The schedule: TOML config -> an APScheduler 3 scheduler whose jobs run crawls one at a time.

Each crawl runs in its own subprocess (the Twisted reactor cannot restart). One worker thread,
max_instances=1 and coalesce=True mean one crawl at a time and a backlog collapses to one run;
misfire_grace_time lets a run start late after a pause instead of being dropped at once.
Webhook delivery and email digests (the `[deliver]` and `[digest]` tables) have a worker of
their own: a slow receiver never delays a crawl, and a nightly full crawl never holds back an
event or a digest.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from billtracker.jobs.run import Job, RetryPolicy, run_job
from billtracker.paths import REPO_ROOT

logger = logging.getLogger(__name__)
DEFAULT_CONFIG = REPO_ROOT / "billtracker" / "schedule.toml"
CRON_FIELDS = {"year", "month", "day", "week", "day_of_week", "hour", "minute", "second"}


class BadConfig(ValueError):
    """The schedule config cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Config:
    timezone: str = "Asia/Taipei"
    misfire_grace_seconds: int = 900
    retry: RetryPolicy = RetryPolicy()
    jobs: tuple[Job, ...] = field(default_factory=tuple)
    deliver_cron: dict[str, str] = field(default_factory=dict)  # empty: no webhook delivery
    digest_cron: dict[str, str] = field(default_factory=dict)  # empty: no email digests


def load_config(path: str | Path = DEFAULT_CONFIG) -> Config:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadConfig(f"schedule config not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadConfig(f"{path}: not valid TOML: {exc}") from None
    tz = str(raw.get("timezone", "Asia/Taipei"))
    try:
        ZoneInfo(tz)
    except Exception:  # noqa: BLE001 - any failure means the name is not a zone
        raise BadConfig(f"{path}: unknown timezone {tz!r}") from None
    jobs = []
    for i, entry in enumerate(raw.get("jobs", []), start=1):
        where = f"{path}: jobs #{i}"
        if not entry.get("id"):
            raise BadConfig(f"{where}: every job needs an id")
        cron = {k: str(v) for k, v in (entry.get("cron") or {}).items()}
        if unknown := set(cron) - CRON_FIELDS:
            raise BadConfig(f"{where} ({entry['id']}): unknown cron field(s) {sorted(unknown)}")
        if not cron and not entry.get("run_at_start"):
            raise BadConfig(f"{where} ({entry['id']}): needs a cron table or run_at_start = true")
        mode = str(entry.get("mode", "full"))
        if mode not in {"full", "incremental"}:
            raise BadConfig(f"{where} ({entry['id']}): mode must be full or incremental, got {mode!r}")
        jobs.append(
            Job(
                id=str(entry["id"]),
                spider=str(entry.get("spider", "tw_ly_bills")),
                mode=mode,
                queries=entry.get("queries"),
                cron=cron,
                run_at_start=bool(entry.get("run_at_start", False)),
            )
        )
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        raise BadConfig(f"{path}: job ids must be unique: {ids}")
    retry = RetryPolicy(**{k: v for k, v in (raw.get("retry") or {}).items()})
    crons = {}
    for table in ("deliver", "digest"):
        crons[table] = {k: str(v) for k, v in ((raw.get(table) or {}).get("cron") or {}).items()}
        if unknown := set(crons[table]) - CRON_FIELDS:
            raise BadConfig(f"{path}: {table}: unknown cron field(s) {sorted(unknown)}")
    grace = int(raw.get("misfire_grace_seconds", 900))
    return Config(tz, grace, retry, tuple(jobs), crons["deliver"], crons["digest"])


def deliver_job(db_path: str, max_seconds: float = 25.0) -> dict[str, int] | None:
    """One webhook pass (billtracker/alerts/webhooks.py), bounded so that passes do not pile up;
    a bad subscription file or a `billtracker deliver` already running is logged, not raised
    (the next pass tries again)."""
    from billtracker.alerts.subscriptions import BadSubscription
    from billtracker.alerts.webhooks import Busy, deliver

    try:
        counts = deliver(db_path, max_seconds=max_seconds)
    except (BadSubscription, Busy) as exc:
        logger.error("deliver: %s", exc)
        return None
    logger.info("deliver: %s", counts)
    return counts


def digest_job(db_path: str) -> dict[str, int] | None:
    """The email digests' last complete periods (billtracker/alerts/digests.py); a failed send
    is logged and tried again on the next run."""
    from billtracker.alerts.digests import config_path, load_digests, send_digests
    from billtracker.alerts.subscriptions import BadSubscription

    try:  # the file BILLTRACKER_DIGESTS names, as for the unsubscribe page
        counts = send_digests(db_path, load_digests(config_path()))
    except BadSubscription as exc:
        logger.error("digest: %s", exc)
        return None
    logger.info("digest: %s", counts)
    return counts


def build_scheduler(
    config: Config,
    db_path: str | Path,
    settings: dict[str, str] | None = None,
    scheduler: BaseScheduler | None = None,
    now: datetime | None = None,
) -> BaseScheduler:
    """Add every job of the config to a (not yet started) scheduler, BlockingScheduler by default."""
    tz = ZoneInfo(config.timezone)
    scheduler = scheduler or BlockingScheduler(timezone=tz)
    scheduler.configure(
        executors={
            "default": ThreadPoolExecutor(max_workers=1),  # one crawl at a time
            "deliveries": ThreadPoolExecutor(max_workers=1),  # beside the crawls, never behind them
        },
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": config.misfire_grace_seconds,
        },
        timezone=tz,
    )
    for job in config.jobs:
        kwargs: dict[str, Any] = {
            "args": [job, str(db_path), dict(settings or {}), config.retry],
            "name": f"{job.spider} ({job.mode})",
        }
        if job.cron:
            scheduler.add_job(run_job, CronTrigger(timezone=tz, **job.cron), id=job.id, **kwargs)
        if job.run_at_start:
            start = DateTrigger(run_date=now or datetime.now(tz), timezone=tz)
            scheduler.add_job(run_job, start, id=f"{job.id}@start", **kwargs)
    if config.deliver_cron:
        trigger = CronTrigger(timezone=tz, **config.deliver_cron)
        scheduler.add_job(
            deliver_job, trigger, id="deliver", name="webhooks", executor="deliveries", args=[str(db_path)]
        )
    if config.digest_cron:
        trigger = CronTrigger(timezone=tz, **config.digest_cron)
        scheduler.add_job(
            digest_job, trigger, id="digest", name="email digests", executor="deliveries", args=[str(db_path)]
        )
    return scheduler
