"""A deterministic LYAPI-sized corpus (150,000 bills by default) for benchmarks and scale tests.

LYAPI holds ~147,000 bills; the samples hold 28. This generator draws bills shaped like the v2
records the replay serves, from statistics of those samples:

* each bill's 議案流程 follows one sample bill's flow (chosen uniformly, so the stage mix is the
  samples' mix), dates shifted to the bill's filing day, plus a geometric number of the loops the
  samples show (繼續審查 at a committee, 排入院會 -> 退回程序), so the mean flow is ~6.7 entries and
  150k bills carry ~1,000,000 entries (the sample mean is 3.4; LYAPI's includes long-lived bills);
* quirks at rates seen in the samples or DESIGN.md: an entry with an empty date, two-day
  sittings (kept from the templates), two adjacent entries out of date order, trailing spaces in
  狀態, indigenous names in their long spelling (鄭天財Sra．Kacaw), full-width spaces inside names;
* law codes Zipf-distributed over the law catalogue (rank 1 = the samples' most frequent code),
  one law for most bills, two for ~10%;
* sponsors drawn from the samples' 118 names; ~15% government bills (行政院 et al.).

Nothing is stored per bill: a record is computed from (seed, index) when asked, so serving 150k
bills costs a few MB (the bill-number index and per-law index arrays), not the ~1.5 GB of JSON.

``mutations`` lets a benchmark "change" some bills (one more flow entry, later 最新進度日期) to
measure an incremental refresh.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from .answers import bill_list_item, error_response, json_response
from .derive import ReplayData, plenary_meeting_code

DEFAULT_SEED = 20161006  # the day 許毓仁 filed 1051006070201100
# (term, first day, last day, share of bills): LYAPI's terms 8-11; term 11 up to the capture time.
TERMS: list[tuple[int, date, date, float]] = [
    (8, date(2012, 2, 1), date(2016, 1, 31), 0.25),
    (9, date(2016, 2, 1), date(2020, 1, 31), 0.27),
    (10, date(2020, 2, 1), date(2024, 1, 31), 0.28),
    (11, date(2024, 2, 1), date(2026, 5, 12), 0.20),
]
GOVERNMENT = ["行政院", "司法院", "考試院", "監察院"]
GOVERNMENT_SHARE = 0.15
TWO_LAWS_SHARE = 0.10
EMPTY_DATE_RATE = 0.02  # 1050307070200500 has one empty-dated entry among the 28 samples
OUT_OF_ORDER_RATE = 0.05
TRAILING_SPACE_RATE = 0.03
LONG_NAME_RATE = 0.3  # 鄭天財 vs 鄭天財Sra．Kacaw: both spellings circulate
FULLWIDTH_SPACE_RATE = 0.01
EXTRA_LOOPS_MEAN = 3.3  # extra loops per bill (geometric mean): 6.3 entries a bill after the term cut
ZIPF_S = 0.8  # the most amended law gets ~6% of bills, the 100th ~0.2%
LONG_NAMES = {"鄭天財": "鄭天財Sra．Kacaw", "谷辣斯．尤達卡": "谷辣斯．尤達卡Kolas Yotaka"}
CHINESE_DIGITS = "零一二三四五六七八九"
CAPTURED_ON = "2026-05-12"  # the v2 capture (資料抓取時間): no generated date is later
CHANGED_ON = "2026-05-20"  # a change "since the capture": newer than every generated date
# Entries after which a bill's record ends: the extra loops go before them (see ScaleCorpus._flow).
FINAL_STATUSES = {"三讀", "撤案", "撤回", "不予審議", "復議", "公布"}


def chinese_number(n: int) -> str:
    """1..99 in Chinese numerals as article numbers are written (第十五條, 第二十三條)."""
    tens, ones = divmod(n, 10)
    text = (CHINESE_DIGITS[tens] if tens > 1 else "") + ("十" if tens else "")
    return text + (CHINESE_DIGITS[ones] if ones or not tens else "")


def roc_day(day: date) -> str:
    return f"{day.year - 1911:03d}{day.month:02d}{day.day:02d}"


class ScaleCorpus:
    """n_bills generated bills; ``record(i)`` is bill i's v2 ``data`` object, built on demand."""

    def __init__(
        self,
        data: ReplayData,
        n_bills: int = 150_000,
        seed: int = DEFAULT_SEED,
        mutations: Iterable[int] = (),
    ) -> None:
        self.n_bills = n_bills
        self.seed = seed
        self.mutations = set(mutations)
        self.laws = data.laws
        self.templates = sorted(
            (b for b in data.bills.values() if b.get("議案流程")), key=lambda b: b["議案編號"]
        )
        self.no_flow_share = 1 - len(self.templates) / max(1, len(data.bills))
        bills = data.bills.values()
        self.names = sorted({n for b in bills for n in (b.get("提案人") or []) + (b.get("連署人") or [])})
        self.law_codes = self._law_ranking(data)
        weights = [1 / (rank + 1) ** ZIPF_S for rank in range(len(self.law_codes))]
        total = sum(weights)
        self._law_cdf = list(_accumulate(w / total for w in weights))
        self.term_of: array = array("b")
        self.bill_nos: list[str] = []
        self.index: dict[str, int] = {}
        self.by_term: dict[int, tuple[int, int]] = {}
        self.by_law: dict[str, array] = {}
        self._latest: list[str] | None = None
        self._selections: dict[str, list[int]] = {}
        self._build_index()

    # --- the index: built once, small -----------------------------------------------------

    def _law_ranking(self, data: ReplayData) -> list[str]:
        """Law codes by rank: the samples' codes by frequency first, then the catalogue's."""
        seen = Counter(c for b in data.bills.values() for c in b.get("法律編號") or [])
        ranked = [code for code, _ in seen.most_common() if code in data.laws]
        rest = sorted(code for code in data.laws if code not in set(ranked) and code.isdigit())
        return ranked + rest

    def _draw_law(self, rng: random.Random) -> str:
        i = bisect_right(self._law_cdf, rng.random())
        return self.law_codes[min(i, len(self.law_codes) - 1)]

    def _build_index(self) -> None:
        start = 0
        for n, (term, first, last, share) in enumerate(TERMS):
            count = self.n_bills - start if n == len(TERMS) - 1 else round(self.n_bills * share)
            self.by_term[term] = (start, start + count)
            span = (last - first).days + 1
            per_day: Counter[date] = Counter()
            for k in range(count):
                i = start + k
                day = first + timedelta(days=k * span // max(1, count))
                per_day[day] += 1
                self.term_of.append(term)
                if term >= 11:  # 15 digits in term 11 (202110213410000)
                    bill_no = f"20{term}{i:07d}0000"
                else:  # 16 in terms 7-10: filing day + 0702 + sequence + 00 (1051006070201100)
                    bill_no = f"{roc_day(day)}0702{per_day[day]:03d}00"
                self.bill_nos.append(bill_no)
                self.index[bill_no] = i
                for code in self._codes(i):
                    self.by_law.setdefault(code, array("I")).append(i)
            start += count

    def _rng(self, i: int, salt: int = 0) -> random.Random:
        return random.Random(self.seed * 1_000_003 + i * 7 + salt)

    def _codes(self, i: int) -> list[str]:
        rng = self._rng(i, 1)
        codes = [self._draw_law(rng)]
        if rng.random() < TWO_LAWS_SHARE:
            other = self._draw_law(rng)
            if other != codes[0]:
                codes.append(other)
        return codes

    # --- records --------------------------------------------------------------------------

    def filed_on(self, i: int) -> date:
        term = self.term_of[i]
        lo, hi = self.by_term[term]
        _, first, last, _ = next(t for t in TERMS if t[0] == term)
        span = (last - first).days + 1
        return first + timedelta(days=(i - lo) * span // max(1, hi - lo))

    def record(self, i: int) -> dict[str, Any]:
        """Bill i's v2 ``data`` object (the same on every call)."""
        rng = self._rng(i)
        bill_no = self.bill_nos[i]
        term = self.term_of[i]
        filed = self.filed_on(i)
        codes = self._codes(i)
        law_names = [str(self.laws.get(c, {}).get("名稱") or c) for c in codes]
        government = rng.random() < GOVERNMENT_SHARE
        proposer_text, proposers, cosigners = self._sponsors(rng, government)
        title = self._title(rng, law_names)
        flow, status = None, "排入程序"
        if rng.random() >= self.no_flow_share:
            flow, status = self._flow(rng, filed, i)
        elif i in self.mutations:  # a bill with no flow yet gets its first stage
            flow, status = [_entry([CHANGED_ON], "審查完畢", "", "司法及法制委員會")], "審查完畢"
        record: dict[str, Any] = {
            "屆": term,
            "議案編號": bill_no,
            "會議代碼": "",
            "資料抓取時間": "2026-05-12T21:18:17+08:00",
            "提案日期": filed.isoformat(),
            "最新進度日期": "",
            "法律編號": codes,
            "法律編號:str": law_names,
            "相關附件": [
                {
                    "名稱": "關係文書PDF",
                    "網址": f"https://ppg.ly.gov.tw/ppg/download/agenda1/02/pdf/{term}/{bill_no}.pdf",
                }
            ],
        }
        if flow is not None:
            record["議案流程"] = flow
            dates = [d for e in flow for d in e["日期"] if d]
            record["最新進度日期"] = max(dates, default="")
            record["會議代碼"] = plenary_meeting_code(flow)
        related = []
        if i + 1 < self.n_bills and rng.random() < 0.2:  # companion bills filed together
            related.append({"議案編號": self.bill_nos[i + 1], "議案名稱": ""})
        record |= {
            "關連議案": related,
            "議案名稱": title,
            "提案單位/提案委員": proposer_text,
            "議案狀態": status,
            "提案人": proposers,
            "連署人": cosigners,
            "議案類別": "法律案",
            "提案來源": "政府提案" if government else "委員提案",
            "會期": self.session(i),
            "字號": "",
            "提案編號": "",
            "案由": f"{proposer_text}，擬具{title.removesuffix('，請審議案。')}。是否有當？敬請公決。",
            "對照表": [],
            "url": f"https://ppg.ly.gov.tw/ppg/bills/{bill_no}/details",
        }
        return record

    def _sponsors(self, rng: random.Random, government: bool) -> tuple[str, list[str], list[str]]:
        if government:
            return rng.choice(GOVERNMENT), [], []
        count = min(len(self.names), rng.randint(2, 21))
        people = [self._spell(rng, n) for n in rng.sample(self.names, count)]
        k = rng.randint(1, 2)
        proposers, cosigners = people[:k], people[k:]
        return f"本院委員{proposers[0]}等{len(people)}人", proposers, cosigners

    def _spell(self, rng: random.Random, name: str) -> str:
        base = name.replace("Sra．Kacaw", "").replace("Kolas Yotaka", "")
        if base in LONG_NAMES and rng.random() < LONG_NAME_RATE:
            return LONG_NAMES[base]
        if len(base) == 3 and rng.random() < FULLWIDTH_SPACE_RATE:
            return base[0] + "\u3000" + base[1:]
        return base

    def _title(self, rng: random.Random, law_names: list[str]) -> str:
        name = law_names[0]
        kind = rng.random()
        if kind < 0.55:
            text = f"「{name}第{chinese_number(rng.randint(1, 60))}條條文修正草案」"
        elif kind < 0.85:
            text = f"「{name}部分條文修正草案」"
        elif kind < 0.95:
            text = f"「{name}草案」"
        else:
            text = f"廢止「{name}」"
        return text + "，請審議案。"

    def _flow(self, rng: random.Random, filed: date, i: int) -> tuple[list[dict[str, Any]], str]:
        """Bill i's 議案流程 and its 議案狀態.

        The extra loops go before the template's first final entry (三讀, 撤案, ...): a committee
        does not keep reviewing a passed bill, and appended after a 三讀 they made ~8% of the
        corpus disagree with itself (flow passed, 議案狀態 繼續審查), which LYAPI does not do. No
        entry falls after the bill's term ended or after the capture: a bill not passed in its term
        expires (屆期不續審); left in, they made 1.3 out-of-term dates per bill, where the real
        ninth-term corpus has almost none."""
        template = rng.choice(self.templates)
        entries = [dict(e) for e in template["議案流程"]]
        first = min((d for e in entries for d in e["日期"] if d), default=filed.isoformat())
        shift = filed - date.fromisoformat(first)
        out = []
        term = f"{self.term_of[i]:02d}"
        for e in entries:
            e["日期"] = [_shift(d, shift) for d in e["日期"]]
            if e["會期"][:2].isdigit():  # the sitting belongs to this bill's term
                e["會期"] = term + e["會期"][2:]
            e.pop("會議代碼", None)  # misq-only key of the derived records: real v2 has none
            out.append(e)
        final = next((k for k, e in enumerate(out) if e["狀態"].strip() in FINAL_STATUSES), len(out))
        head, tail = out[:final], out[final:]
        last = max((d for e in head for d in e["日期"] if d), default=filed.isoformat())
        day = start = date.fromisoformat(last)
        loops: list[dict[str, Any]] = []
        for _ in range(_geometric(rng, EXTRA_LOOPS_MEAN)):
            day += timedelta(days=rng.randint(7, 90))
            if rng.random() < 0.6:
                loops.append(_entry([day.isoformat()], "繼續審查", "", "司法及法制委員會"))
            else:
                code = f"{self.term_of[i]:02d}-{rng.randint(1, 8):02d}-{rng.randint(1, 16):02d}"
                two_days = [day.isoformat(), (day + timedelta(days=4)).isoformat()]
                loops.append(_entry(two_days, "排入院會", code, "院會"))
                loops.append(_entry(two_days, "退回程序", code, "院會"))
        later = day - start
        for e in tail:  # the final entries move after the loops, keeping their own spacing
            e["日期"] = [_shift(d, later) for d in e["日期"]]
        out = head + loops + tail
        status = str(template.get("議案狀態") or "") if tail else ""
        # Nothing happens after the term's end or the capture (LYAPI's newest 最新進度日期).
        end = min(CAPTURED_ON, self.term_end(i).isoformat())
        kept = [e for e in out if not any(d > end for d in e["日期"] if d)] or out[:1]
        if len(kept) < len(out) or not status:
            status = kept[-1]["狀態"]
        out = kept
        if out and rng.random() < EMPTY_DATE_RATE:
            out[rng.randrange(len(out))]["日期"] = [""]
        if len(out) > 1 and rng.random() < OUT_OF_ORDER_RATE:
            k = rng.randrange(len(out) - 1)
            out[k], out[k + 1] = out[k + 1], out[k]
        if out and rng.random() < TRAILING_SPACE_RATE:
            out[-1]["狀態"] += " "
        if i in self.mutations:
            # "Changed upstream" since the capture: the same flow plus one stage dated after it. Added
            # after the quirks, so the quirks (and the random draws) are the unchanged bill's, and no
            # quirk can blank the new stage's date (it did: 1 of 100 changes was invisible).
            out.append(_entry([CHANGED_ON], "審查完畢", "", "司法及法制委員會"))
            status = "審查完畢"
        return out, status.strip()

    def term_end(self, i: int) -> date:
        return next(t[2] for t in TERMS if t[0] == self.term_of[i])

    # --- lists ----------------------------------------------------------------------------

    def latest(self, i: int) -> str:
        """Bill i's 最新進度日期; all of them computed once, on the first sorted list request."""
        if self._latest is None:
            self._latest = [self.record(k)["最新進度日期"] for k in range(self.n_bills)]
        return self._latest[i]

    def session(self, i: int) -> int:
        """Bill i's 會期: two a year from the term's first year, as the record says."""
        filed = self.filed_on(i)
        first_year = next(t[1].year for t in TERMS if t[0] == self.term_of[i])
        return 1 + (filed.month - 1) // 6 + 2 * (filed.year - first_year)

    def field(self, i: int, name: str) -> Any:
        """One field of bill i without building its record where the index knows it."""
        match name:
            case "屆":
                return self.term_of[i]
            case "會期":
                return self.session(i)
            case "提案日期":
                return self.filed_on(i).isoformat()
            case "最新進度日期":
                return self.latest(i)
            case "議案編號":
                return self.bill_nos[i]
            case "法律編號":
                return self._codes(i)
            case "議案類別":
                return "法律案"
        return self.record(i).get(name)

    def selection(self, narrowed: Iterable[int], query: Any) -> list[int]:
        """The ids a list query chooses in its order, kept for the query's later pages."""
        from . import lyapi

        key = repr((sorted(query.terms.items()), sorted(query.ranges.items()), query.sort))
        if key not in self._selections:
            if len(self._selections) > 8:
                self._selections.clear()
            self._selections[key] = lyapi.select(list(narrowed), self.field, query)
        return self._selections[key]

    def select(self, filters: dict[str, list[str]]) -> list[int] | range:
        """Bill indices of the 屆 and 法律編號 filters, from the index (the rest: `selection`)."""
        selected: list[int] | range = range(self.n_bills)
        if "屆" in filters:
            ranges = [self.by_term.get(int(t), (0, 0)) for t in filters["屆"] if t.strip().isdigit()]
            selected = sorted(i for lo, hi in ranges for i in range(lo, hi))
            if len(ranges) == 1:
                selected = range(*ranges[0])
        if "法律編號" in filters:
            chosen = {i for code in filters["法律編號"] for i in self.by_law.get(code, ())}
            selected = [i for i in selected if i in chosen] if "屆" in filters else sorted(chosen)
        return selected


def _accumulate(values: Iterable[float]) -> Iterable[float]:
    total = 0.0
    for v in values:
        total += v
        yield total


def _geometric(rng: random.Random, mean: float) -> int:
    """0, 1, 2, ... with the given mean."""
    p = 1 / (1 + mean)
    return int(math.log(1 - rng.random()) / math.log(1 - p))


def _shift(iso: str, shift: timedelta) -> str:
    return (date.fromisoformat(iso) + shift).isoformat() if iso else ""


def _entry(dates: list[str], status: str, session: str, venue: str) -> dict[str, Any]:
    return {"日期": dates, "狀態": status, "會期": session, "院會/委員會": venue}


def scale_route(corpus: ScaleCorpus, parts: list[str], params: list[Any], rules: Any) -> Any:
    """/v2/bills lists and details of generated bills by LYAPI's rules; None = not ours."""
    from . import lyapi

    extra: dict[str, list[str]] = {}
    match parts:
        case ["bills", bill_no]:
            i = corpus.index.get(bill_no)
            if i is None:
                return None
            body = {"error": False, "id": [bill_no], "data": corpus.record(i), "relations": []}
            return json_response(200, body)
        case ["laws", code, "bills"]:
            extra = {"法律編號": [code]}
        case ["bills"]:
            pass
        case _:
            return None
    try:
        query = lyapi.parse_list_query(params, rules)
    except lyapi.ApiError as exc:
        return error_response(exc.status, str(exc))
    for name, values in extra.items():
        query.terms.setdefault(name, []).extend(values)
    if unknown := set(query.terms) - set(FAST_FIELDS) or set(query.ranges) - set(FAST_FIELDS):
        return error_response(400, f"the scale corpus filters by {list(FAST_FIELDS)} only: {sorted(unknown)}")
    narrowed = corpus.select({k: v for k, v in query.terms.items() if k in {"屆", "法律編號"}})
    chosen = corpus.selection(narrowed, query)
    entry = lambda i, fields: bill_list_item(corpus.record(i), fields)  # noqa: E731
    return json_response(200, lyapi.list_body(chosen, corpus.field, entry, query))


# Fields a scale list can filter, sort and aggregate on without building every record.
FAST_FIELDS = ("屆", "會期", "議案類別", "法律編號", "提案日期", "最新進度日期", "議案編號")
