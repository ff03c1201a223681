"""The generated parts of docs/*.md, rebuilt from the code so that the docs cannot drift from it.

A generated part sits between two HTML comments (invisible on GitHub), and everything between
them is replaced by what its spec renders; the text around it is written by hand:

    <!-- generated: help crawl -->
    ...
    <!-- end generated -->

(at the start of a line: an indented example such as this one is not a block).

Specs: `help [COMMAND ...]` (the command's `--help`, as an 80-column terminal shows it),
`query NAME` (a canned query of datasette_metadata.json), `tables` (every table's description
and columns from the same file), `stages` (scrapers/stages.py), `evidence-kinds`
(pipelines/normalise/evidence.py), `audit-checks` (billtracker/audit.py), `schedule`
(billtracker/schedule.toml) and `modules` (each module's docstring).

    python -m billtracker.docs_gen           # rewrite docs/*.md in place
    python -m billtracker.docs_gen --check   # exit 1 and name the files that are out of date

tests/test_docs.py fails while any file differs from what this module renders.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from billtracker.paths import METADATA, REPO_ROOT
from billtracker.serve.plugins.pages import TABLE_SEARCH

DOCS = REPO_ROOT / "docs"
# click wraps help at min(terminal columns, 80) - 2: what `billtracker X --help` prints in any
# terminal of 80 columns or more.
HELP_WIDTH = 78
# A block opens and closes at the start of a line (an indented example of the markers is not a block).
BLOCK = re.compile(
    r"^(?P<open><!-- generated: (?P<spec>[^\n]+?) -->\n)(?P<body>.*?)^(?P<close><!-- end generated -->)",
    re.S | re.M,
)
PACKAGES = ("scrapers", "pipelines", "billtracker")


class BadSpec(ValueError):
    """A generated block names something the code does not have."""


# --- CLI ----------------------------------------------------------------------------------------


def command_paths() -> list[tuple[str, ...]]:
    """Every `billtracker` command and subcommand, as argument tuples; () is `billtracker` itself."""
    from billtracker.cli import cli

    def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        if isinstance(command, click.Group):
            for name in sorted(command.commands):
                yield from walk(command.commands[name], (*path, name))

    return list(walk(cli, ()))


def help_text(path: tuple[str, ...]) -> str:
    from billtracker.cli import cli

    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="billtracker", terminal_width=HELP_WIDTH)
    if result.exit_code != 0:
        raise BadSpec(f"billtracker {' '.join(path)} --help: exit {result.exit_code}: {result.output}")
    return result.output


def render_help(args: list[str]) -> str:
    path = tuple(args)
    if path not in command_paths():
        raise BadSpec(f"no command `billtracker {' '.join(path)}`")
    return "```text\n" + help_text(path).rstrip("\n") + "\n```\n"


# --- canned queries and tables ------------------------------------------------------------------


def metadata_db() -> dict[str, Any]:
    return json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["billtracker"]


def queries() -> dict[str, dict[str, Any]]:
    return metadata_db()["queries"]


def query_parameters(sql: str) -> list[str]:
    """The named parameters Datasette finds in a canned query (and shows as form fields), in order."""
    from datasette.utils import derive_named_parameters

    # Datasette strips comments and quoted strings, then reads :name; it never uses the database.
    found = asyncio.run(derive_named_parameters(None, sql))
    return list(dict.fromkeys(found))


def is_feed(query: dict[str, Any]) -> bool:
    return "atom_id" in query["sql"]


def render_query(args: list[str]) -> str:
    if len(args) != 1 or args[0] not in queries():
        raise BadSpec(f"no canned query {' '.join(args)!r} in datasette_metadata.json")
    name = args[0]
    query = queries()[name]
    params = query_parameters(query["sql"])
    lines = [f"**{query['title']}**: {query['description']}", ""]
    lines.append(
        "Parameters (from its SQL): " + (", ".join(f"`{p}`" for p in params) if params else "none") + "."
    )
    lines.append("")
    urls = f"JSON: `/billtracker/{name}.json?_shape=array`"
    if is_feed(query):
        urls += f" · Atom: `/billtracker/{name}.atom`"
    lines.append(urls + (" (with the parameters above)." if params else "."))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_tables(args: list[str]) -> str:
    if args:
        raise BadSpec("tables takes no arguments")
    out: list[str] = []
    for name, table in metadata_db()["tables"].items():
        out += [f"### `{name}`", "", table.get("description", "(no description)"), ""]
        extras = []
        if facets := table.get("facets"):
            shown = [
                f if isinstance(f, str) else f"{next(iter(f))}: {next(iter(f.values()))}" for f in facets
            ]
            extras.append("Facets: " + ", ".join(f"`{f}`" for f in shown) + ".")
        if fts := table.get("fts_table") or TABLE_SEARCH.get(name):
            extras.append(f"Full-text search: `{fts}`.")
        if extras:
            out += [" ".join(extras), ""]
        if columns := table.get("columns"):
            out += ["| column | meaning |", "| --- | --- |"]
            out += [f"| `{col}` | {_cell(text)} |" for col, text in columns.items()]
            out.append("")
    return "\n".join(out)


# --- vocabularies -------------------------------------------------------------------------------


def render_stages(args: list[str]) -> str:
    from scrapers.stages import RULES, STAGES, TERMINAL

    if args:
        raise BadSpec("stages takes no arguments")
    lines = [
        "| slug | 中文 | meaning | raw text it is read from (`scrapers/stages.py` RULES) |",
        "| --- | --- | --- | --- |",
    ]
    for stage in STAGES:
        rules = [f"`{r.pattern.pattern}`" for r in RULES if r.slug == stage.slug]
        terminal = " Terminal: no expiry after it." if stage.slug in TERMINAL else ""
        lines.append(
            f"| `{stage.slug}` | {stage.label} | {_cell(stage.description)}{terminal} | "
            f"{_cell(', '.join(rules)) if rules else '—'} |"
        )
    return "\n".join(lines) + "\n"


def render_evidence_kinds(args: list[str]) -> str:
    from pipelines.normalise.evidence import EXPIRY_KINDS, KINDS, PASS_KINDS, PROMULGATION_KINDS

    if args:
        raise BadSpec("evidence-kinds takes no arguments")
    lines = ["| kind | 中文 | meaning | may make a bill |", "| --- | --- | --- | --- |"]
    for kind in KINDS:
        allowed = [
            what
            for what, kinds in (
                ("third-reading", PASS_KINDS),
                ("promulgated", PROMULGATION_KINDS),
                ("expired", EXPIRY_KINDS),
            )
            if kind.slug in kinds
        ]
        lines.append(
            f"| `{kind.slug}` | {kind.label} | {_cell(kind.description)} | "
            f"{', '.join(f'`{a}`' for a in allowed) or '—'} |"
        )
    return "\n".join(lines) + "\n"


def render_audit_checks(args: list[str]) -> str:
    from billtracker.audit import checks_markdown

    if args:
        raise BadSpec("audit-checks takes no arguments")
    return checks_markdown()


def render_schedule(args: list[str]) -> str:
    from billtracker.jobs.schedule import DEFAULT_CONFIG, load_config

    if args:
        raise BadSpec("schedule takes no arguments")
    config = load_config(DEFAULT_CONFIG)
    lines = [f"| job | cron ({config.timezone}) | spider | mode |", "| --- | --- | --- | --- |"]
    for job in config.jobs:
        cron = " ".join(f"{k}={v}" for k, v in job.cron.items()) or "—"
        start = " (and at start)" if job.run_at_start else ""
        lines.append(f"| `{job.id}` | `{cron}`{start} | `{job.spider}` | {job.mode} |")
    retry = config.retry
    lines += [
        "",
        f"Retries: {retry.attempts} attempts, waiting {retry.backoff_seconds:g} s after the first "
        f"failure and doubling up to {retry.max_backoff_seconds:g} s; a run may start up to "
        f"{config.misfire_grace_seconds} s late (`misfire_grace_seconds`).",
    ]
    if config.deliver_cron:
        cron = " ".join(f"{k}={v}" for k, v in config.deliver_cron.items())
        lines += [
            "",
            f"Webhooks: `billtracker deliver` runs at `{cron}` (the `[deliver]` table), on a worker of "
            "its own beside the crawls ([alerts](alerts.md)).",
        ]
    if config.digest_cron:
        cron = " ".join(f"{k}={v}" for k, v in config.digest_cron.items())
        lines += [
            "",
            f"Email digests: `billtracker digest` runs at `{cron}` (the `[digest]` table), on the same "
            "worker as the webhooks ([alerts](alerts.md#email-digests)).",
        ]
    return "\n".join(lines) + "\n"


# --- modules ------------------------------------------------------------------------------------


def first_sentence(doc: str) -> str:
    paragraph = " ".join(doc.strip().split("\n\n", 1)[0].split())
    match = re.match(r"(.+?[.!?])(?=\s|$)", paragraph)
    return match.group(1) if match else paragraph


def render_modules(args: list[str]) -> str:
    if args:
        raise BadSpec("modules takes no arguments")
    lines = ["| module | what it is (its docstring) |", "| --- | --- |"]
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            if not doc:
                continue
            rel = path.relative_to(REPO_ROOT).as_posix()
            lines.append(f"| `{rel}` | {_cell(first_sentence(doc))} |")
    return "\n".join(lines) + "\n"


# --- the files ----------------------------------------------------------------------------------

RENDERERS: dict[str, Callable[[list[str]], str]] = {
    "help": render_help,
    "query": render_query,
    "tables": render_tables,
    "stages": render_stages,
    "evidence-kinds": render_evidence_kinds,
    "audit-checks": render_audit_checks,
    "schedule": render_schedule,
    "modules": render_modules,
}


def render(spec: str) -> str:
    kind, *args = spec.split()
    if kind not in RENDERERS:
        raise BadSpec(f"unknown generated block {spec!r}; known: {', '.join(RENDERERS)}")
    return RENDERERS[kind](args)


def specs(text: str) -> list[str]:
    """The spec of every generated block in a text, in order."""
    return [m.group("spec") for m in BLOCK.finditer(text)]


def without_generated(text: str) -> str:
    """The hand-written text only: every generated block's body left out."""
    return BLOCK.sub(lambda m: m.group("open") + m.group("close"), text)


def regenerate(text: str) -> str:
    return BLOCK.sub(
        lambda m: m.group("open") + "\n" + render(m.group("spec")) + "\n" + m.group("close"), text
    )


def doc_files() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    stale = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        new = regenerate(text)
        if new != text:
            stale.append(path.relative_to(REPO_ROOT).as_posix())
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        print("out of date (run python -m billtracker.docs_gen): " + ", ".join(stale), file=sys.stderr)
        return 1
    for name in stale:
        print(f"rewrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
