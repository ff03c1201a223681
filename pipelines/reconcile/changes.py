"""What a reconcile run changes becomes typed `changes` events (a derived 三讀 or promulgation,
a bill only a secondary source knows), as a crawl's changes are (pipelines/history/versions.py).

A chunk's snapshot is taken just before it is reconciled, and only the bills whose stored state
the run touched are read again afterwards.
"""

from __future__ import annotations

from pipelines.history import versions as history
from pipelines.reconcile.context import Context


def record_changes(
    ctx: Context,
    before: dict[str, history.BillState],
    changed: list[str],
    created: set[str],
    run_id: int | None,
    now: str,
) -> None:
    """The change events of these bills: `before` against their state now; a bill this run
    created was "no bill" before."""
    ctx.counts.setdefault("changes", 0)  # reported for any run with bills, as it always was
    after = history.snapshots(ctx.db, changed)
    for bill_no in changed:
        old = history.BillState(None) if bill_no in created else before[bill_no]
        new = after[bill_no]
        if old != new:
            ctx.counts["changes"] += len(history.record_changes(ctx.db, bill_no, old, new, run_id, now))
