"""Docs that cannot drift (sqlite-utils' test_docs, and its cog-generated CLI reference).

The README says what billtracker is and how to start; docs/ holds the rest, and the parts of
docs/ that restate the code are generated from it (billtracker/docs_gen.py). These tests fail
when the docs and the code disagree: a generated part is stale, a command or a canned query or
one of its parameters is undocumented, a link between the docs does not resolve, the README
grows past 150 lines or its Quick start stops being what `dev` and `.ci/run` run.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from billtracker import docs_gen
from billtracker.cli import cli
from billtracker.paths import REPO_ROOT

README_PATH = REPO_ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
DOCS = {p.name: p.read_text(encoding="utf-8") for p in docs_gen.doc_files()}
CLI_DOC = DOCS["cli.md"]
QUERIES_DOC = DOCS["queries.md"]
API_DOC = DOCS["api.md"]
COMMAND_PATHS = docs_gen.command_paths()
COMMANDS = sorted(cli.commands)
QUERIES = sorted(docs_gen.queries())


def spec_of(path: tuple[str, ...]) -> str:
    return " ".join(("help", *path))


def section(text: str, heading: str) -> str:
    """The text under a heading line, up to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    match = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^#{{1,{level}}} |\Z)", text, re.M | re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


# --- generated parts ----------------------------------------------------------------------------


def test_there_are_docs_with_generated_parts() -> None:
    assert {"cli.md", "queries.md", "data.md", "operations.md", "architecture.md"} <= set(DOCS)
    assert all(docs_gen.specs(DOCS[name]) for name in ("cli.md", "queries.md", "data.md"))


@pytest.mark.parametrize("name", sorted(DOCS))
def test_generated_parts_are_what_the_code_renders_now(name: str) -> None:
    text = DOCS[name]
    assert docs_gen.regenerate(text) == text, (
        f"docs/{name} is out of date: run `.venv/bin/python -m billtracker.docs_gen` and commit the result"
    )


def test_the_generator_checks_and_rewrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text("# x\n\n<!-- generated: help up -->\nstale\n<!-- end generated -->\n", encoding="utf-8")
    monkeypatch.setattr(docs_gen, "DOCS", tmp_path)
    monkeypatch.setattr(docs_gen, "REPO_ROOT", tmp_path)
    assert docs_gen.main(["--check"]) == 1
    assert "stale" in page.read_text(encoding="utf-8")
    assert docs_gen.main([]) == 0
    assert "Usage: billtracker up [OPTIONS]" in page.read_text(encoding="utf-8")
    assert docs_gen.main(["--check"]) == 0


def test_an_unknown_block_is_an_error() -> None:
    for spec in ("help no-such-command", "query no_such_query", "no-such-block"):
        with pytest.raises(docs_gen.BadSpec):
            docs_gen.render(spec)


# --- the CLI reference --------------------------------------------------------------------------


def test_every_command_and_subcommand_has_exactly_one_help_block() -> None:
    blocks = [s for s in docs_gen.specs(CLI_DOC) if s.split()[0] == "help"]
    assert sorted(blocks) == sorted(spec_of(p) for p in COMMAND_PATHS)
    assert len(blocks) == len(set(blocks))


@functools.cache
def _real_helps() -> dict[tuple[str, ...], subprocess.Popen[str]]:
    """Every `billtracker ... --help` in a real process on an 80-column terminal, all started at
    once: each spends about a second importing, so one after the other they cost the fast subset
    seconds it need not wait (docs/development.md).

    What the `billtracker` console script runs, from this checkout (the script of a shared or
    editable virtualenv may import another one)."""
    cmd = [sys.executable, "-c", "from billtracker.cli import cli; cli(prog_name='billtracker')"]
    env = {**os.environ, "COLUMNS": "80", "LINES": "24"}
    return {
        path: subprocess.Popen(
            [*cmd, *path, "--help"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO_ROOT,
        )
        for path in COMMAND_PATHS
    }


def _real_help(path: tuple[str, ...]) -> str:
    proc = _real_helps()[path]
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    return stdout


# 15 processes of ~1 s each: slow. The fast subset still compares every help block with what
# click renders (test_generated_parts_are_what_the_code_renders_now); this adds the real terminal.
@pytest.mark.slow
@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(("billtracker", *p)))
def test_help_block_is_what_the_command_prints(path: tuple[str, ...]) -> None:
    match = re.search(
        rf"^<!-- generated: {re.escape(spec_of(path))} -->\n\n```text\n(.*?)```\n", CLI_DOC, re.M | re.S
    )
    assert match, f"no help block for billtracker {' '.join(path)}"
    assert match.group(1) == _real_help(path)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_a_section_with_a_hand_written_example(command: str) -> None:
    heading = f"## `billtracker {command}`"
    assert re.search(rf"^{re.escape(heading)}$", CLI_DOC, re.M), f"no section for {command}"
    hand_written = docs_gen.without_generated(section(CLI_DOC, heading))
    assert re.search(rf"^billtracker {command}\b", hand_written, re.M), f"no example of {command}"


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_has_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert f"billtracker {command}" in result.output.split("Example")[-1]


# --- the canned-query reference -----------------------------------------------------------------


def test_every_canned_query_has_exactly_one_generated_block() -> None:
    blocks = [s.split(" ", 1)[1] for s in docs_gen.specs(QUERIES_DOC) if s.startswith("query ")]
    assert sorted(blocks) == QUERIES


@pytest.mark.parametrize("query", QUERIES)
def test_every_parameter_of_the_sql_is_documented(query: str) -> None:
    text = section(QUERIES_DOC, f"### `{query}`")
    assert f"<!-- generated: query {query} -->" in text, f"{query}'s block is not in its own section"
    hand_written = docs_gen.without_generated(text)
    documented = re.findall(r"^\| `([^`]+)` \|", hand_written, re.M)
    params = docs_gen.query_parameters(docs_gen.queries()[query]["sql"])
    assert sorted(documented) == sorted(params), f"{query}: the SQL has {params}, the table {documented}"
    if not params:
        assert "No parameters." in hand_written
    assert "Returns " in hand_written


def test_parameters_are_read_as_datasette_reads_them() -> None:
    # Quoted text and comments are not parameters: '%H:%M' in a strftime is no :M.
    sql = "select strftime('%Y-%m-%dT%H:%M:%SZ', x) -- :nope\nfrom t where a = :a and b = :b or a = :a"
    assert docs_gen.query_parameters(sql) == ["a", "b"]


@pytest.mark.parametrize("query", QUERIES)
def test_canned_query_has_an_example(query: str) -> None:
    hand_written = docs_gen.without_generated(API_DOC)
    assert f"/billtracker/{query}.json?" in hand_written, f"no example of {query} in docs/api.md"


# --- the architecture's layout ------------------------------------------------------------------

PATH_TOKEN = re.compile(r"^[\w.-]+(/[\w.-]+)*(\.py|\.toml|\.yaml|\.json|/)$")


def layout_paths(text: str) -> list[str]:
    """Every file and folder the hand-written layout tree of docs/architecture.md names.

    Two spaces of indent are one folder deeper; the leading path-like words of a line are paths."""
    tree = section(text, "## Layout").split("```\n", 1)[1].split("```", 1)[0]
    parents: list[str] = []
    paths = []
    for line in tree.splitlines():
        words = line.split()
        if not words or not PATH_TOKEN.match(words[0]):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        parent = "".join(parents[:depth])
        for word in words:
            if not PATH_TOKEN.match(word):
                break
            paths.append(parent + word)
            if word.endswith("/"):
                parents[depth:] = [word]
    return paths


def test_layout_names_only_files_that_exist() -> None:
    paths = layout_paths(DOCS["architecture.md"])
    assert {"scrapers/stages.py", "scrapers/tw_ly/bills.py", "billtracker/serve/plugins/api.py"} <= set(paths)
    missing = [p for p in paths if not (REPO_ROOT / p).exists()]
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


# --- links, the README and its Quick start ------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def markdown_files() -> dict[Path, str]:
    return {README_PATH: README, **{docs_gen.DOCS / name: text for name, text in DOCS.items()}}


def github_anchors(text: str) -> set[str]:
    """The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to -."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in FENCE.sub("", text).splitlines():
        if match := re.match(r"^#{1,6} (.+?)\s*#*$", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def links(text: str) -> list[str]:
    return LINK.findall(INLINE_CODE.sub("", FENCE.sub("", text)))


def test_anchors_follow_github() -> None:
    text = (
        "# Sources, reconciled (issue 3)\n## `billtracker crawl`\n"
        "## At LYAPI scale: 150,000 bills\n## `x`\n## x\n"
    )
    assert github_anchors(text) == {
        "sources-reconciled-issue-3",
        "billtracker-crawl",
        "at-lyapi-scale-150000-bills",
        "x",
        "x-1",
    }


@pytest.mark.parametrize("path", sorted(markdown_files()), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_link_between_the_docs_resolves(path: Path) -> None:
    files = markdown_files()
    broken = []
    for target in links(files[path]):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists() or REPO_ROOT.resolve() not in (resolved, *resolved.parents):
            broken.append(f"{target}: no such file")
            continue
        if anchor and resolved.suffix == ".md":
            text = files.get(resolved) or resolved.read_text(encoding="utf-8")
            if anchor not in github_anchors(text):
                broken.append(f"{target}: no heading #{anchor}")
    assert not broken, broken


def test_readme_links_every_doc() -> None:
    linked = {Path(t.partition("#")[0]).name for t in links(README) if t.startswith("docs/")}
    assert set(DOCS) <= linked, f"not linked from README.md: {sorted(set(DOCS) - linked)}"


def test_readme_is_short() -> None:
    assert len(README.splitlines()) < 150


def quick_start_commands() -> list[str]:
    block = section(README, "## Quick start").split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.strip().splitlines() if line.strip()]


def test_quick_start_has_two_commands() -> None:
    assert quick_start_commands() == ["./dev demo", "./dev test"]


def test_quick_start_commands_are_what_dev_runs() -> None:
    dev = (REPO_ROOT / "dev").read_text(encoding="utf-8")
    assert re.search(r'^\s*demo\)\s.*"\$VENV/bin/billtracker" demo\b', dev, re.M)
    assert re.search(r'^\s*test\)\s.*"\$VENV/bin/python" -m pytest\b', dev, re.M)
    assert re.search(r"^\s*lint\)\s.*ruff\" check", dev, re.M)


def test_ci_runs_the_readme_test_command() -> None:
    ci = [
        line.strip()
        for line in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("./dev")
    ]
    assert ci == ["./dev lint", "./dev test"]
    assert "./dev test" in quick_start_commands()
    assert "`./dev lint`" in README
