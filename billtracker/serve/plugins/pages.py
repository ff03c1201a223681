"""Pages for staffers: a bill's journey, a law article by article, time in stage, search.

Registered as a Datasette plugin (entry point `billtracker` in pyproject.toml), so installing the
package is enough. Every page is rendered on the server and works without JavaScript:

- /{db}/bills/{bill_no} (Datasette's row page) and /-/bill/{bill_no}: the bill's journey
- /-/law/{law_code or name}: every bill amending the law, grouped by article, with diffs
- /-/committee/{name}: time in stage and stuck bills of one committee
- /-/time-in-stage?days=N: medians and spread by committee and proposer type, the stuck list
- /-/search?q=...: titles, 案由 and article text, Traditional or Simplified
- /-/legislator/{id}: a legislator's bills, proposed and cosponsored, with their stages
- /-/embed/bill/{bill_no}: a small self-contained card for news sites' iframes (the one route
  the security plugin lets other origins frame)
- /: the staffers' home (today, this week, agendas, stuck bills, watches); Datasette's own index
  of databases moves to /-/index (and stays at /.json)
- /{db}/bills?_search=...: Datasette's own table search, answered from the one search index
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils import escape_sqlite, tilde_decode, tilde_encode
from datasette.utils.asgi import BadRequest, NotFound, Response
from datasette.views.index import IndexView
from jinja2 import ChoiceLoader, FileSystemLoader

from billtracker.serve.read import asof, home, journey, lawview, legislators, search, timing
from billtracker.serve.read.svgchart import box_chart
from pipelines.schema.api import ROWID_SPAN
from pipelines.schema.fts import SEARCH_INDEX
from scrapers.clock import taipei_today

# Datasette's table search (?_search=, ?_search_COLUMN=) per table, from the one search index.
TABLE_SEARCH = {"bills": SEARCH_INDEX}

PACKAGE = Path(__file__).resolve().parents[2]  # billtracker/
TEMPLATES = PACKAGE / "templates"
STATIC = PACKAGE / "static"
DEFAULT_STUCK_DAYS = 180
STUCK_SHOWN = 200  # rows of the stuck list rendered; the caption gives the full count


def today() -> date:
    """Asia/Taipei's today; BILLTRACKER_TODAY freezes it (as for crawls) so pages are reproducible."""
    return taipei_today(os.environ.get("BILLTRACKER_TODAY", ""))


async def bills_database(datasette: Any) -> Any:
    """The first served database holding a `bills` table (its name follows the file's stem)."""
    for name, db in datasette.databases.items():
        if name != "_internal" and await db.table_exists("bills"):
            return db
    raise NotFound("no billtracker database (with a bills table) is being served")


async def render(datasette: Any, request: Any, template: str, context: dict[str, Any]) -> Response:
    html = await datasette.render_template(template, context, request=request)
    return Response.html(html)


@hookimpl
def prepare_jinja2_environment(env: Any, datasette: Any) -> None:
    """Our templates live in billtracker/templates (package data), ahead of Datasette's own."""
    env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), env.loader])
    # Datasette redirects %-encoded paths to its tilde encoding: link with that directly.
    env.filters["tilde"] = lambda value: tilde_encode(str(value))


@hookimpl
def extra_css_urls(
    template: str, database: Any, table: Any, columns: Any, view_name: str, request: Any, datasette: Any
):
    return ["/-/billtracker/pages.css"]


@hookimpl
def extra_template_vars(
    template: str, database: str, table: str, view_name: str, request: Any, datasette: Any
):
    """The bills row page gets the same journey as /-/bill/{bill_no}."""
    if view_name != "row" or table != "bills" or request is None:
        return {}

    async def inner() -> dict[str, Any]:
        bill_no = request.url_vars.get("pks", "")
        db = datasette.get_database(database)
        data = await db.execute_fn(lambda conn: journey.bill_journey(conn, bill_no, today(), database))
        if data is None:
            return {}
        data["links"] = await feed_links(datasette, database, bill_no)
        data["history"] = await db.execute_fn(lambda conn: asof.history(conn, bill_no))
        return {"bill_journey": data}

    return inner


async def feed_links(datasette: Any, database: str, bill_no: str) -> list[dict[str, str]]:
    queries = await datasette.get_canned_queries(database, None)
    return journey.feed_links({"databases": {database: {"queries": queries}}}, database, bill_no)


async def bill_as_of_page(datasette: Any, request: Any, db: Any, bill_no: str) -> Response:
    """?as_of=YYYY-MM-DD or ?version=N: the bill as billtracker knew it then."""
    raw_day, raw_version = request.args.get("as_of", ""), request.args.get("version", "")
    day = asof.parse_day(raw_day) if raw_day else None
    version = int(raw_version) if raw_version.isdigit() else None
    if (raw_day and day is None) or (raw_version and version is None):
        return Response.text("as_of must be a day (YYYY-MM-DD), version a number\n", status=400)
    data = await db.execute_fn(lambda conn: asof.record_then(conn, bill_no, day, version))
    if data is None or (version is not None and data["version"] is None):
        raise NotFound(f"no stored version of bill {bill_no}")
    context = {"record_then": data, "database": db.name}
    return await render(datasette, request, "bill_as_of.html", context)


async def bill_page(datasette: Any, request: Any) -> Response:
    db = await bills_database(datasette)
    bill_no = request.url_vars["bill_no"]
    if request.args.get("as_of") or request.args.get("version"):
        return await bill_as_of_page(datasette, request, db, bill_no)
    data = await db.execute_fn(lambda conn: journey.bill_journey(conn, bill_no, today(), db.name))
    if data is None:
        raise NotFound(f"no bill {bill_no} in {db.name}")
    data["links"] = await feed_links(datasette, db.name, bill_no)
    data["history"] = await db.execute_fn(lambda conn: asof.history(conn, bill_no))
    return await render(datasette, request, "bill.html", {"bill_journey": data, "database": db.name})


async def law_page(datasette: Any, request: Any) -> Response:
    db = await bills_database(datasette)
    law = tilde_decode(request.url_vars["law"])
    data = await db.execute_fn(lambda conn: lawview.law_page(conn, law))
    if data is None:
        raise NotFound(f"no law {law} in {db.name}")
    timing_data = await db.execute_fn(
        lambda conn: timing.time_in_stage(conn, today(), law_code=data["law"]["law_code"])
    )
    chart = box_chart(timing_data["by_stage"], f"Days per stage, bills amending {data['law']['name']}")
    return await render(
        datasette,
        request,
        "law.html",
        {"law_page": data, "timing": timing_data, "chart": chart, "database": db.name},
    )


def stuck_days(request: Any) -> int:
    raw = request.args.get("days", "")
    try:
        return max(int(raw), 0) if raw else DEFAULT_STUCK_DAYS
    except ValueError:
        return DEFAULT_STUCK_DAYS


async def committee_page(datasette: Any, request: Any) -> Response:
    db = await bills_database(datasette)
    name = tilde_decode(request.url_vars["name"])
    days = stuck_days(request)
    data = await db.execute_fn(lambda conn: timing.time_in_stage(conn, today(), committee=name))
    if not data["bills"]:
        raise NotFound(f"no bills referred to {name}")
    stuck = [s for s in data["spells"] if (s["days"] or 0) > days and s["committee"] == name]
    chart = box_chart(data["by_stage"], f"Days per stage, bills in {name}")
    return await render(
        datasette,
        request,
        "committee.html",
        {
            "committee": name,
            "timing": data,
            "stuck": stuck,
            "stuck_shown": STUCK_SHOWN,
            "days": days,
            "chart": chart,
            "database": db.name,
        },
    )


async def time_in_stage_page(datasette: Any, request: Any) -> Response:
    db = await bills_database(datasette)
    days = stuck_days(request)
    data = await db.execute_fn(lambda conn: timing.time_in_stage(conn, today()))
    committees = await db.execute_fn(timing.committees)
    stuck = [s for s in data["spells"] if (s["days"] or 0) > days]
    chart = box_chart(data["by_stage"], "Days per stage, all bills")
    return await render(
        datasette,
        request,
        "time_in_stage.html",
        {
            "timing": data,
            "stuck": stuck,
            "stuck_shown": STUCK_SHOWN,
            "days": days,
            "chart": chart,
            "committees": committees,
            "database": db.name,
        },
    )


async def search_page(datasette: Any, request: Any) -> Response:
    db = await bills_database(datasette)
    q = request.args.get("q", "").strip()
    results = await db.execute_fn(lambda conn: search.search(conn, q)) if q else []
    return await render(datasette, request, "search.html", {"q": q, "results": results, "database": db.name})


async def home_page(datasette: Any, request: Any) -> Response:
    db = await bills_database(datasette)
    data = await db.execute_fn(lambda conn: home.home(conn, today(), db.name))
    return await render(datasette, request, "home.html", {"home": data, "database": db.name})


async def legislator_page(datasette: Any, request: Any) -> Response:
    db = await bills_database(datasette)
    key = tilde_decode(request.url_vars["key"])
    data = await db.execute_fn(lambda conn: legislators.legislator(conn, key, today()))
    if data is None:
        raise NotFound(f"no legislator {key} in {db.name}")
    return await render(datasette, request, "legislator.html", {"legislator": data, "database": db.name})


async def embed_page(datasette: Any, request: Any) -> Response:
    """The embed card: no base template (Datasette's chrome and scripts), one inline style."""
    db = await bills_database(datasette)
    bill_no = request.url_vars["bill_no"]
    data = await db.execute_fn(lambda conn: journey.bill_journey(conn, bill_no, today(), db.name))
    if data is None:  # plain text: Datasette's error page carries a script the card's CSP refuses
        return Response.text(f"no bill {bill_no}\n", status=404)
    back = datasette.absolute_url(request, f"/-/bill/{bill_no}")
    html = await datasette.render_template("embed_bill.html", {"bill_journey": data, "back": back})
    return Response.html(html, headers={"cache-control": "public, max-age=300"})


async def datasette_index(datasette: Any, request: Any) -> Response:
    """Datasette's own index of databases, at its own URL now that / is the staffers' home."""
    return await IndexView(datasette).get(request)


async def stylesheet(request: Any) -> Response:
    return Response(
        (STATIC / "pages.css").read_text(encoding="utf-8"),
        content_type="text/css; charset=utf-8",
        headers={"cache-control": "max-age=300"},
    )


@hookimpl(trylast=True)
def filters_from_request(request: Any, database: str, table: str, datasette: Any) -> Any:
    """Datasette's ?_search on `bills`, as its own `fts_table` search did, through bills_fts.

    Datasette maps an index row to its table row by `rowid`; the one index's rowid is a recency key
    (pipelines/schema/api.py) whose low digits are the bills rowid, so the mapping is ours. trylast:
    Datasette's own search filter, which finds no index for `bills`, runs first and says the table
    has no search; this one's context comes after it and wins."""
    index = TABLE_SEARCH.get(table)
    if index is None:
        return None

    async def inner() -> FilterArguments | None:
        if not await datasette.get_database(database).table_exists(index):
            return None
        meta = datasette.table_metadata(database, table)
        raw = request.args.get("_searchmode", meta.get("searchmode")) == "raw"
        where, params, described, context = [], {}, [], {"supports_search": True}
        asked = [k for k in request.args if k.startswith("_search") and k != "_searchmode"]
        for i, key in enumerate(asked):
            text = request.args[key]
            column = key.split("_search_", 1)[1] if key != "_search" else index
            if column != index and column not in await datasette.get_database(database).table_columns(index):
                raise BadRequest("Cannot search by that column")
            match = f":search_{i}" if raw else f"escape_fts(:search_{i})"
            hits = f"select rowid % {ROWID_SPAN} from {index} where {escape_sqlite(column)} match {match}"
            where.append(f"rowid in ({hits})")
            params[f"search_{i}"] = text
            scope = "search" if column == index else f'search column "{column}"'
            described.append(f'{scope} matches "{text}"')
            context["search"] = text
        return FilterArguments(where, params, described, context)

    return inner


@hookimpl
def register_routes(datasette: Any):
    return [
        (r"^/-/bill/(?P<bill_no>[0-9]+)$", bill_page),
        (r"^/-/law/(?P<law>[^/]+)$", law_page),
        (r"^/-/committee/(?P<name>[^/]+)$", committee_page),
        (r"^/-/time-in-stage$", time_in_stage_page),
        (r"^/-/search$", search_page),
        (r"^/-/legislator/(?P<key>[^/]+)$", legislator_page),
        (r"^/-/embed/bill/(?P<bill_no>[0-9]+)$", embed_page),
        (r"^/$", home_page),
        (r"^/-/index(\.(?P<format>jsono?))?$", datasette_index),
        (r"^/-/billtracker/pages\.css$", stylesheet),
    ]
