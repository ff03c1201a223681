"""Where the project's own files are, whichever directory a command runs from."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
METADATA = REPO_ROOT / "datasette_metadata.json"
