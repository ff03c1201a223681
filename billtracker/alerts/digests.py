"""Email digests: one message per watch, recipient and period (a Taipei day, or a Monday-to-Sunday
week) with that period's changes, Chinese first, plain text and HTML, links to the bill pages and
an unsubscribe link; sent through the SMTP server of billtracker/digests.toml.

Why a `digest_sends` row per (digest, period, recipient): a period already sent (or found empty:
nothing is mailed when nothing changed) is never mailed again, however often the job runs; a
failed send is tried again on the next run. The Message-ID is stable per row, so the one resend a
crash between sending and recording can cause is a duplicate mail clients recognise.

The unsubscribe link is billtracker's own page (`/-/unsubscribe?t=TOKEN`, unsubscribe.py) when
`unsubscribe_secret_env` names the secret that signs the tokens; an address that used it is
skipped (and counted) on every later run. Without it: `unsubscribe_url`, else a mailto: to the
sender, for the operator to act on by hand.
"""

from __future__ import annotations

import hashlib
import html
import os
import smtplib
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote

from billtracker.alerts.subscriptions import ENV_NAME, BadSubscription, read_config
from billtracker.alerts.unsubscribe import MIN_SECRET_BYTES, PATH, address_key, make_token, unsubscribed_keys
from billtracker.paths import REPO_ROOT
from pipelines.history.versions import KIND_LABELS
from pipelines.rawsql import select
from pipelines.schema import open_db
from scrapers.clock import TAIPEI

DEFAULT_DIGESTS = REPO_ROOT / "billtracker" / "digests.toml"
# Names the digests file for `billtracker digest` and for the unsubscribe page of `billtracker serve`
# alike: the page checks tokens with the secret the same file names.
CONFIG_ENV = "BILLTRACKER_DIGESTS"
PERIODS = ("daily", "weekly")
WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class Digest:
    name: str
    watch: str
    to: tuple[str, ...]
    period: str = "daily"


@dataclass(frozen=True)
class DigestConfig:
    site_url: str = "http://127.0.0.1:8001"
    host: str = "localhost"
    port: int = 25
    sender: str = "billtracker <billtracker@localhost>"
    starttls: bool = False
    unsubscribe_url: str = ""  # e.g. https://site/unsubscribe?digest={digest}&to={to}; else mailto the sender
    unsubscribe_secret_env: str = ""  # names the variable holding the token secret: links to our own page
    digests: tuple[Digest, ...] = field(default_factory=tuple)


def load_digests(path: str | Path = DEFAULT_DIGESTS) -> DigestConfig:
    """site_url, [smtp] host/port/sender/starttls, unsubscribe_secret_env or unsubscribe_url, and
    [[digest]] entries: name, watch, to (a list of addresses), period (daily or weekly)."""
    path = Path(path)
    raw = read_config(path, "digest")
    secret_env = str(raw.get("unsubscribe_secret_env", ""))
    if "unsubscribe_secret" in raw:
        raise BadSubscription(f"{path}: put the secret in the environment, name it in unsubscribe_secret_env")
    if secret_env and not ENV_NAME.match(secret_env):
        raise BadSubscription(f"{path}: unsubscribe_secret_env must be a variable name like UNSUBSCRIBE_KEY")
    if secret_env and raw.get("unsubscribe_url"):
        raise BadSubscription(
            f"{path}: set unsubscribe_secret_env (billtracker's own page) or unsubscribe_url (yours),"
            " not both"
        )
    digests = []
    for i, entry in enumerate(raw.get("digest", []), start=1):
        where = f"{path}: digest #{i}"
        if not entry.get("name") or not entry.get("watch") or not entry.get("to"):
            raise BadSubscription(f"{where} needs name, watch and to; got {sorted(entry)}")
        to = entry["to"] if isinstance(entry["to"], list) else [entry["to"]]
        if bad := [a for a in to if "@" not in parseaddr(str(a))[1]]:
            raise BadSubscription(f"{where} ({entry['name']}): not an address: {bad}")
        period = str(entry.get("period", "daily"))
        if period not in PERIODS:
            raise BadSubscription(
                f"{where} ({entry['name']}): period must be daily or weekly, got {period!r}"
            )
        digests.append(Digest(str(entry["name"]), str(entry["watch"]), tuple(map(str, to)), period))
    names = [d.name for d in digests]
    if len(set(names)) != len(names):
        raise BadSubscription(f"{path}: digest names must be unique: {names}")
    smtp = raw.get("smtp") or {}
    return DigestConfig(
        site_url=str(raw.get("site_url", DigestConfig.site_url)).rstrip("/"),
        host=str(smtp.get("host", "localhost")),
        port=int(smtp.get("port", 25)),
        sender=str(smtp.get("sender", DigestConfig.sender)),
        starttls=bool(smtp.get("starttls", False)),
        unsubscribe_url=str(raw.get("unsubscribe_url", "")),
        unsubscribe_secret_env=secret_env,
        digests=tuple(digests),
    )


def last_period(period: str, today: date) -> tuple[date, date]:
    """The last complete period before `today` (Taipei): yesterday, or last Monday-to-Sunday."""
    if period == "daily":
        return today - timedelta(days=1), today
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday


def _utc(day: date) -> str:
    """Midnight in Taipei as the UTC text detected_at is stored in."""
    at = datetime.combine(day, time(0), TAIPEI).astimezone(UTC)
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def period_changes(conn: sqlite3.Connection, watch: str, start: date, end: date) -> list[dict[str, Any]]:
    return select(
        conn,
        "select c.*, b.title as bill_title, b.current_stage_label, b.current_stage_on,"
        " b.current_stage_evidence, b.current_stage_caveat"
        " from change_watches w join changes c on c.id = w.change_id"
        " left join bills b on b.bill_no = c.bill_no"
        " where w.watch = ? and c.detected_at >= ? and c.detected_at < ? order by c.bill_no, c.id",
        [watch, _utc(start), _utc(end)],
    )


def _period_label(digest: Digest, start: date, end: date) -> str:
    if digest.period == "daily":
        return f"{start.isoformat()}（週{WEEKDAYS[start.weekday()]}）"
    return f"{start.isoformat()}至{(end - timedelta(days=1)).isoformat()}"


def config_path() -> Path:
    """The digests file: $BILLTRACKER_DIGESTS, else billtracker/digests.toml."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_DIGESTS)


def unsubscribe_secret(config: DigestConfig) -> str | None:
    """The token secret, or None when no variable is named (the page is not offered). A named
    variable that is unset or short is BadSubscription: links that the page could never check
    must not go out."""
    if not config.unsubscribe_secret_env:
        return None
    secret = os.environ.get(config.unsubscribe_secret_env, "")
    if not secret:
        raise BadSubscription(
            f"unsubscribe_secret_env names {config.unsubscribe_secret_env},"
            " which is not set in the environment"
        )
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise BadSubscription(
            f"{config.unsubscribe_secret_env} is shorter than {MIN_SECRET_BYTES} bytes:"
            " too short to sign with"
        )
    return secret


def unsubscribe_link(config: DigestConfig, digest: Digest, to: str, secret: str | None = None) -> str:
    """Our page with a token when there is a secret, else the configured URL, else a mailto:."""
    if secret:
        return f"{config.site_url}{PATH}?t={make_token(secret, digest.name, to)}"
    if config.unsubscribe_url:
        return config.unsubscribe_url.format(digest=quote(digest.name), to=quote(to))
    sender = parseaddr(config.sender)[1]
    return f"mailto:{sender}?subject={quote(f'unsubscribe {digest.name} {to}')}"


def compose(
    config: DigestConfig,
    digest: Digest,
    watch_title: str,
    to: str,
    start: date,
    end: date,
    changes: list[dict[str, Any]],
    message_id: str,
    secret: str | None = None,
) -> EmailMessage:
    """The message: Chinese first (English after a rule), each bill with its current stage and the
    evidence and caveat as stored, each change, and the link to the bill's page."""
    label = _period_label(digest, start, end)
    title = watch_title or digest.watch
    unsubscribe = unsubscribe_link(config, digest, to, secret)
    by_bill: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        by_bill.setdefault(change["bill_no"], []).append(change)
    text = [f"{title}（{digest.watch}）", f"{label}　共 {len(changes)} 項變更", ""]
    parts = [
        f"<h1>{html.escape(title)}（{html.escape(digest.watch)}）</h1>",
        f"<p>{html.escape(label)}　共 {len(changes)} 項變更</p>",
    ]
    for bill_no, rows in by_bill.items():
        first = rows[0]
        link = f"{config.site_url}/-/bill/{bill_no}"
        stage = " ".join(
            x for x in (first["current_stage_label"] or "", first["current_stage_on"] or "") if x
        )
        text += [f"■ {first['bill_title'] or bill_no}（{bill_no}）", f"  目前階段：{stage or '未知'}"]
        parts += [
            f'<h2><a href="{html.escape(link)}">{html.escape(first["bill_title"] or bill_no)}</a>'
            f"（{bill_no}）</h2>",
            f"<p>目前階段：{html.escape(stage or '未知')}</p>",
        ]
        if first["current_stage_evidence"]:
            text.append(f"  依據：{first['current_stage_evidence']}")
            parts.append(f"<p>依據：{html.escape(first['current_stage_evidence'])}</p>")
        if first["current_stage_caveat"]:
            text.append(f"  注意：{first['current_stage_caveat']}")
            parts.append(f"<p><strong>注意：{html.escape(first['current_stage_caveat'])}</strong></p>")
        parts.append("<ul>")
        for change in rows:
            what = KIND_LABELS.get(change["kind"], change["kind"])
            value = change["new_value"] or change["old_value"] or ""
            text.append(f"  - {what}：{value}（{change['detected_at']}）")
            parts.append(
                f"<li>{html.escape(what)}：{html.escape(value)}（{html.escape(change['detected_at'])}）</li>"
            )
        parts.append("</ul>")
        text += [f"  {link}", ""]
    text += [
        "——",
        f"billtracker digest '{digest.name}': {len(changes)} change(s) to bills watched by"
        f" '{digest.watch}', {label}.",
        f"取消訂閱 / Unsubscribe: {unsubscribe}",
    ]
    parts += [
        "<hr>",
        f"<p>billtracker digest “{html.escape(digest.name)}”: {len(changes)} change(s),"
        f" {html.escape(label)}.</p>",
        f'<p><a href="{html.escape(unsubscribe)}">取消訂閱 / Unsubscribe</a></p>',
    ]
    message = EmailMessage()
    message["Subject"] = f"【billtracker】{title}：{label} {len(changes)} 項變更"
    message["From"] = config.sender
    message["To"] = formataddr(("", to))
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    if secret:  # our page takes the one-click POST (RFC 8058); a configured URL or mailto may not
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content("\n".join(text))
    message.add_alternative(
        '<!doctype html><html lang="zh-Hant"><body>' + "\n".join(parts) + "</body></html>", subtype="html"
    )
    return message


def send_digests(db_path: str | Path, config: DigestConfig, today: date | None = None) -> dict[str, int]:
    """Every digest's last complete period, to every recipient not yet sent it and not
    unsubscribed; returns counts."""
    today = today or datetime.now(TAIPEI).date()
    secret = unsubscribe_secret(config)  # before anything is sent: a bad secret sends nothing
    counts = {"sent": 0, "nothing": 0, "failed": 0, "skipped": 0, "unsubscribed": 0}
    db = open_db(db_path)
    conn = db.conn
    try:
        titles = {r["name"]: r["title"] for r in db["watches"].rows} if db["watches"].exists() else {}
        for digest in config.digests:
            start, end = last_period(digest.period, today)
            changes = period_changes(conn, digest.watch, start, end)
            gone = unsubscribed_keys(conn, digest.name)
            for to in digest.to:
                if address_key(to) in gone:
                    counts["unsubscribed"] += 1  # they used the link: not mailed, not recorded
                    continue
                key = [digest.name, start.isoformat(), to]
                row = select(
                    conn,
                    "select * from digest_sends where digest = ? and period_start = ? and recipient = ?",
                    key,
                )
                if row and row[0]["status"] in ("sent", "nothing"):
                    counts["skipped"] += 1
                    continue
                message_id = f"<digest.{quote(digest.name)}.{start.isoformat()}.{_addr_key(to)}@billtracker>"
                attempts = (row[0]["attempts"] if row else 0) + 1
                status = "nothing" if not changes else "sending"
                with conn:
                    conn.execute(
                        "insert into digest_sends (digest, period_start, recipient, period_end, changes,"
                        " status, message_id, attempts) values (?, ?, ?, ?, ?, ?, ?, ?)"
                        " on conflict (digest, period_start, recipient) do update set"
                        " status = excluded.status, attempts = excluded.attempts, changes = excluded.changes",
                        [*key, end.isoformat(), len(changes), status, message_id, attempts],
                    )
                if not changes:
                    counts["nothing"] += 1  # nothing changed: nothing is sent
                    continue
                message = compose(
                    config, digest, titles.get(digest.watch, ""), to, start, end, changes, message_id, secret
                )
                try:
                    with smtplib.SMTP(config.host, config.port, timeout=30) as smtp:
                        if config.starttls:
                            smtp.starttls()
                        smtp.send_message(message)
                except (OSError, smtplib.SMTPException) as exc:
                    with conn:
                        conn.execute(
                            "update digest_sends set status = 'failed', last_error = ?"
                            " where digest = ? and period_start = ? and recipient = ?",
                            [f"{type(exc).__name__}: {exc}", *key],
                        )
                    counts["failed"] += 1
                    continue
                with conn:
                    conn.execute(
                        "update digest_sends set status = 'sent', sent_at = ?, last_error = null"
                        " where digest = ? and period_start = ? and recipient = ?",
                        [datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"), *key],
                    )
                counts["sent"] += 1
    finally:
        db.close()
    return counts


def _addr_key(address: str) -> str:
    """The address as a Message-ID part (stable across runs, unlike hash())."""
    return hashlib.sha256(address.lower().encode("utf-8")).hexdigest()[:12]
