"""Docs stay true (sqlite-utils' test_docs): every CLI command and canned query is in README.md
with an example, and every command's --help carries one."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from billtracker.cli import cli
from billtracker.paths import METADATA, REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)
QUERIES = sorted(json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["billtracker"]["queries"])


@pytest.mark.parametrize("command", COMMANDS)
def test_command_documented_in_readme(command: str) -> None:
    assert f"### `billtracker {command}`" in README
    assert re.search(rf"^billtracker {command}\b", README, re.M), f"no example of {command}"


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_has_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert f"billtracker {command}" in result.output.split("Example")[-1]


@pytest.mark.parametrize("query", QUERIES)
def test_canned_query_documented(query: str) -> None:
    assert f"| `{query}` |" in README
    assert f"/billtracker/{query}.json?" in README


def test_quick_start_has_two_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert [c.split("#")[0].strip() for c in commands] == ["./dev demo", "./dev test"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./dev test" in ci
