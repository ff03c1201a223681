"""Where reconcile's own stages sit among a bill's seqs.

0 is the filing and 1.. the 議案流程 as published (pipelines/normalise/bill_record.py), 1000 the derived
expiry (normalise.DERIVED_SEQ), 3000+ a reviewed correction (pipelines/reconcile/corrections.py). One seq
per derived kind, so a re-run finds and rewrites the row it wrote, and a row whose evidence is
gone is marked gone_at at the seq it had.
"""

from __future__ import annotations

MERGED_SEQ = 1100  # derived third reading propagated from a merged-review report
PROMULGATED_SEQ = 1200  # derived promulgation from MOJ 沿革 / lis law versions
STATUS_SEQ = 1300  # derived third reading from a source's status for this bill (議案狀態 三讀)
SOURCE_SEQ = 2000  # an event only a secondary source reports (2000, 2001, ...)
