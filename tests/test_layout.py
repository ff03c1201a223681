"""The house: folders follow the data, each folder imports only what README.md's layout
table lets it, and no module imports itself back (late imports included, since a late
import is how a circle hides)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("scrapers", "pipelines", "billtracker")
LAYOUT_DOC = REPO / "README.md"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every project module `name` imports, at module level or inside a function (not under
    `if TYPE_CHECKING:`, which never runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(n) for t in ast.walk(tree) if _type_checking_only(t) for n in ast.walk(t)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    found.add(sub)
                elif base in known:
                    found.add(base)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layout_table() -> dict[str, set[str]]:
    """README.md's layout table: folder (or module) -> what it may import.

    "everything above" is every row before it; "everything" is every row; otherwise the
    `quoted` paths of the cell."""
    text = LAYOUT_DOC.read_text(encoding="utf-8")
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rules: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"`[\w/.]+`", cells[0]):
            continue
        home = cells[0].strip("`").rstrip("/")
        if cells[2].startswith("everything above"):
            rules[home] = set(rules)
        elif cells[2] == "everything":
            rules[home] = {"*"}
        else:
            rules[home] = {c.rstrip("/") for c in re.findall(r"`([\w/.]+)`", cells[2])}
    everything = set(rules)
    return {home: everything if allowed == {"*"} else allowed for home, allowed in rules.items()}


def home_of(module: str, homes: set[str]) -> str | None:
    """The row of the layout table a module belongs to: its own file's row or its folder's."""
    path = module.replace(".", "/")
    candidates = [h for h in homes if h.removesuffix(".py") == path or path.startswith(h + "/")]
    return max(candidates, key=len) if candidates else None


TOP_PACKAGES = set(PACKAGES)  # pipelines/__init__.py and billtracker/__init__.py are empty


def test_no_import_circles() -> None:
    assert cycles(graph()) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_module_lives_in_a_folder_of_the_layout_table() -> None:
    homes = set(layout_table())
    homeless = [m for m in modules() if m not in TOP_PACKAGES and home_of(m, homes) is None]
    assert homeless == []


def test_each_folder_imports_only_what_the_layout_table_allows() -> None:
    rules = layout_table()
    homes = set(rules)
    wrong = []
    for module, imported in graph().items():
        home = home_of(module, homes)
        for target in imported:
            there = home_of(target, homes)
            if home is not None and there not in (home, None) and there not in rules[home]:
                wrong.append(f"{module} ({home}/) imports {target} ({there}/)")
    assert wrong == []


def test_the_layout_table_names_only_real_folders() -> None:
    rules = layout_table()
    assert {
        "scrapers",
        "pipelines/normalise",
        "pipelines/store",
        "pipelines/reconcile",
        "billtracker/serve",
    } <= set(rules)
    for folder, allowed in rules.items():
        assert (REPO / folder).exists(), folder
        for other in allowed:
            assert other in rules, f"{folder} may import {other}, which the table does not list"


def test_spiders_import_nothing_from_pipelines_or_billtracker() -> None:
    for module, imported in graph().items():
        if module.startswith("scrapers"):
            assert not [m for m in imported if not m.startswith("scrapers")], module
