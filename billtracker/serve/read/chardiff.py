"""Character-level differences between two versions of an article (Chinese has no word spaces,
so a word diff would mark the whole sentence)."""

from __future__ import annotations

from difflib import SequenceMatcher

from markupsafe import Markup, escape


def segments(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] with op in equal | delete | insert, reading old -> new."""
    out: list[tuple[str, str]] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(("equal", old[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            out.append(("delete", old[i1:i2]))
        if tag in ("insert", "replace"):
            out.append(("insert", new[j1:j2]))
    return out


def diff_html(old: str, new: str) -> Markup:
    """`new` with what it adds in <ins> and what it removes from `old` in <del>."""
    parts = []
    for op, text in segments(old or "", new or ""):
        if op == "equal":
            parts.append(str(escape(text)))
        elif op == "delete":
            parts.append(f'<del title="removed">{escape(text)}</del>')
        else:
            parts.append(f'<ins title="added">{escape(text)}</ins>')
    return Markup("".join(parts))


def changed_chars(old: str, new: str) -> int:
    return sum(len(text) for op, text in segments(old or "", new or "") if op != "equal")
