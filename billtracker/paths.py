"""Where the project's own files are, whichever directory a command runs from."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # billtracker/, in a clone or in site-packages
REPO_ROOT = PACKAGE.parent


def _metadata() -> Path:
    """datasette_metadata.json stays at the top of the repository (the layout); an installed wheel
    has no repository around it and carries a copy inside the package (setup.py's build step)."""
    top = REPO_ROOT / "datasette_metadata.json"
    packaged = PACKAGE / "datasette_metadata.json"
    return packaged if not top.is_file() and packaged.is_file() else top


METADATA = _metadata()
