"""Reconcile: many sources, one record per bill, and a ledger of every disagreement.

Runs after each crawl (ReconcilePipeline.close_spider, and `billtracker reconcile`), over what
is stored, so its result never depends on which spider ran first. Each step is idempotent:
re-running on unchanged data writes nothing new. One module a step (orchestrator.py runs them):

1. source_bills: lis records carry 提案編號, not billNo: resolve them through bills.proposal_no.
2. source_bills: a bill only a secondary source knows gets a `bills` row from it.
   moj_laws: MOJ laws (by pcode) linked to the LY law of the same name.
3. merged: 併案: a committee's merged-review report (billNo digits 8-11 "0703") is linked to the
   proposals it merges on evidence only (pipelines/reconcile/merged_reviews.py), and the report's own dated
   三讀 becomes a derived third reading of each proposal linked by evidence. A 三讀 another
   proposal of the report records is not this bill's evidence: it is never borrowed.
3b. passed: passed means evidenced: a source's status for this bill (議案狀態, dataset 20
   billStatus, lis 進度) that says 三讀 where no stage does gives a third reading dated as that
   source dates it (or undated) and a `passed` disagreement with the flow; never "expired".
4. attach_sources: every stage lists every source that reports it (`stage_sources`); a secondary
   source's event on a day no stage has becomes a stage of its own (origin 'source').
5. ledger, disagreements: fields the sources disagree on (status, title, filed_on, sponsors, a
   stage on one day) get a `disagreements` row with each reading; `bills` shows the reading
   pipelines/reconcile/precedence.py picks. promulgation: a passed bill's law version -> `promulgated`.
6. current_stage: the current stage is recomputed over all stages, with its evidence kind and the
   caveat the page and the API show; expiry is derived only from a record captured after the
   term ended (bills.as_of), and a derived expiry that no longer holds is marked gone_at.
7. sponsors: every proposer any source names is stored and linked to `legislators` by every
   known spelling of their name.
Then changes: what the run changed becomes typed `changes` events.

inputs.py reads a chunk's inputs, context.py holds the run's state and its one way of writing
(plain SQL, pipelines/rawsql.py), seqs.py the seqs of reconcile's own stages.
"""

from __future__ import annotations

from pipelines.reconcile.attach_sources import SAME_STATE, state_key
from pipelines.reconcile.current_stage import evidence_kind
from pipelines.reconcile.disagreements import readings_sha
from pipelines.reconcile.inputs import CHUNK, BillInputs
from pipelines.reconcile.merged_reviews import report_filed_on
from pipelines.reconcile.orchestrator import Reconciler, reconcile
from pipelines.reconcile.pipeline import ReconcilePipeline
from pipelines.reconcile.promulgation import PROMULGATION_WINDOW_DAYS
from pipelines.reconcile.seqs import MERGED_SEQ, PROMULGATED_SEQ, SOURCE_SEQ, STATUS_SEQ

__all__ = [
    "CHUNK",
    "MERGED_SEQ",
    "PROMULGATED_SEQ",
    "PROMULGATION_WINDOW_DAYS",
    "SAME_STATE",
    "SOURCE_SEQ",
    "STATUS_SEQ",
    "BillInputs",
    "ReconcilePipeline",
    "Reconciler",
    "evidence_kind",
    "readings_sha",
    "reconcile",
    "report_filed_on",
    "state_key",
]
