"""Click options and parameter parsing shared by several commands."""

from __future__ import annotations

import click

from scrapers.settings import BILLTRACKER_DB

# The database every command reads or writes unless --db says otherwise: the crawl setting's own
# default (scrapers/settings.py), so `scrapy crawl` and `billtracker` agree.
DEFAULT_DB = BILLTRACKER_DB

# Shared by every command that can crawl the recorded samples instead of the live sites.
replay_option = click.option(
    "--replay",
    "replay_dir",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="DIR",
    help="Crawl recorded responses served from DIR on 127.0.0.1 "
    "(default $BILLTRACKER_SAMPLES, else ../shared/samples).",
)

# Real records laid out like ../shared/corpus/ly-term9, served by the replay beside the samples.
corpus_option = click.option(
    "--corpus",
    "corpus_dir",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="With --replay: also serve the misq bill pages and dataset-20 rows in DIR "
    "(bill-detail/, proposal/, PROVENANCE.md), e.g. ../shared/corpus/ly-term9.",
)


def parse_query(text: str) -> dict[str, str]:
    """'屆=9&議案類別=法律案' -> {'屆': '9', '議案類別': '法律案'}."""
    query = {}
    for part in text.split("&"):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected FIELD=VALUE, got {part!r}", param_hint="--query")
        query[key.strip()] = value.strip()
    return query
