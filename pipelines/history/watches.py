"""Watches: what a staffer or newsroom follows (a law, a title pattern, a keyword, a committee, a
bill, an article of a law), loaded from TOML into the `watches` table; every change is matched to
the watches it concerns (`change_watches`), so a per-watch feed is one indexed join.

An article watch (`article = "行政院組織法 第六條"`, or `"01010 第六條"`) matches every bill whose
title or 對照表 touches that article: the bill's live rows of `articles`
(pipelines/normalise/articles.py), which the store writes before it records the bill's changes,
from the table where there is one and from the title where there is not.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from pipelines.normalise.article_numbers import ARTICLE_RE, article_key, parse_article

if TYPE_CHECKING:
    from pipelines.history.versions import BillState

# (law_code, law_name, article_key) of one article a bill touches
ArticleRef = tuple[str, str, str]
WATCH_KINDS = ("law", "pattern", "keyword", "committee", "bill", "article")
DEFAULT_WATCHES = Path(__file__).resolve().parents[2] / "billtracker" / "watches.toml"


class BadWatch(ValueError):
    """A watch entry in the config that cannot be used; names the file and the entry."""


@dataclass(frozen=True)
class Watch:
    name: str
    kind: str
    value: str
    title: str = ""

    def matches(
        self,
        bill: dict[str, Any],
        laws: list[str],
        committees: set[str],
        articles: Collection[ArticleRef] = (),
    ) -> bool:
        if self.kind == "article":
            law, key = article_target(self.value)
            return any(key == a_key and law in (code, name) for code, name, a_key in articles)
        if self.kind == "bill":
            return bill["bill_no"] == self.value
        if self.kind == "law":
            return self.value in laws
        if self.kind == "committee":
            return self.value in committees
        title = bill.get("title") or ""
        if self.kind == "pattern":
            # 「*組織法*」 is a glob on the title; a plain word is a substring.
            if any(c in self.value for c in "*?["):
                return fnmatch.fnmatchcase(title, self.value)
            return self.value in title
        return self.value in title or self.value in (bill.get("reason") or "")


def article_target(value: str) -> tuple[str, str]:
    """'行政院組織法 第六條' -> ('行政院組織法', '0006-00'); '01010第十二條之三' -> ('01010', '0012-03').
    Raises BadWatch when there is no law or no article number."""
    parsed = parse_article(value)
    law = ARTICLE_RE.split(value, maxsplit=1)[0].strip()
    if parsed is None or not law:
        raise BadWatch(f"an article watch names a law and an article (行政院組織法 第六條); got {value!r}")
    return law, article_key(*parsed)


def load_watches(path: str | Path = DEFAULT_WATCHES) -> list[Watch]:
    """[[watch]] entries: name, title, and exactly one of law / pattern / keyword / committee / bill."""
    path = Path(path)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadWatch(f"watch config not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadWatch(f"{path}: not valid TOML: {exc}") from None
    watches = []
    for i, entry in enumerate(config.get("watch", []), start=1):
        kinds = [k for k in WATCH_KINDS if k in entry]
        if len(kinds) != 1 or not entry.get("name"):
            raise BadWatch(
                f"{path}: watch #{i} needs a name and exactly one of {', '.join(WATCH_KINDS)}; got {entry}"
            )
        kind = kinds[0]
        if kind == "article":
            article_target(str(entry[kind]))  # fail on the config, not on the first change
        watches.append(Watch(str(entry["name"]), kind, str(entry[kind]), str(entry.get("title", ""))))
    names = [w.name for w in watches]
    if len(set(names)) != len(names):
        raise BadWatch(f"{path}: watch names must be unique: {names}")
    return watches


def stored_watches(db: sqlite_utils.Database) -> list[Watch]:
    if not db["watches"].exists():
        return []
    return [Watch(r["name"], r["kind"], r["value"], r["title"]) for r in db["watches"].rows]


def sync_watches(
    db: sqlite_utils.Database,
    watches: list[Watch],
    now: str,
    rematch: Callable[[sqlite_utils.Database], None],
) -> bool:
    """Make the table match the config; when anything changed, `rematch` (history's
    `rematch_all`, passed in because history imports this module) re-matches every stored change
    in the same transaction, so a new watch also covers the history. Returns True if it changed."""
    if set(stored_watches(db)) == set(watches):
        return False
    with db.atomic():
        db["change_watches"].delete_where()
        db["watches"].delete_where()
        db["watches"].insert_all(
            [
                {"name": w.name, "kind": w.kind, "value": w.value, "title": w.title, "updated_at": now}
                for w in watches
            ],
            pk="name",
        )
        rematch(db)
    return True


def bill_articles(db: sqlite_utils.Database, bill_no: str) -> list[ArticleRef]:
    """The articles a bill touches now (live `articles` rows: 對照表, else title)."""
    if not db["articles"].exists():
        return []
    return [
        (code or "", name or "", key)
        for code, name, key in db.conn.execute(
            "select law_code, law_name, article_key from articles"
            " where bill_no = ? and gone_at is null and article_key != ''",
            [bill_no],
        )
    ]


def match_change(
    db: sqlite_utils.Database, change_id: int, state: BillState, watches: list[Watch] | None = None
) -> None:
    assert state.bill is not None
    committees = {r["committee"] for r in state.stages if r.get("committee")}
    watches = stored_watches(db) if watches is None else watches
    articles = bill_articles(db, state.bill["bill_no"]) if any(w.kind == "article" for w in watches) else []
    for watch in watches:
        if watch.matches(state.bill, state.laws, committees, articles):
            db.conn.execute(
                "INSERT OR IGNORE INTO change_watches (change_id, watch) VALUES (?, ?)",
                [change_id, watch.name],
            )
