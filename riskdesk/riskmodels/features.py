"""The scorecard's features, as of a business date, computed set-based in SQL.

The catalogue below is the contract between training, nightly scoring, reason codes
and the pages: a feature's code is its column in the frame, its words say what it
means to a collector. Every feature is "as of D": only facts dated on or before D
count (payments by value date, installments by due and settlement date, bucket
changes, collections events), so the same SQL builds training rows at past month
ends and scores the book tonight.

Two bases give the loans and their state at D:
  * `tonight`: open loans in `lending_loan` (dpd, outstanding principal as of the
    last close, which is D when step 3 runs);
  * `month_end`: the loans of `lending_loanmonthsnapshot` at month end D (the state
    close of day froze that night), which is how training sees the past.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from riskdesk.core.vocabulary import label


@dataclass(frozen=True)
class Feature:
    code: str
    kind: str  # "numerical" or "categorical"
    # optbinning's monotonic_trend for numerical features ("ascending": the bad rate
    # rises with the value); "auto_asc_desc" where no direction is obvious.
    trend: str = "auto_asc_desc"

    @property
    def label(self) -> Any:
        """The desk's words for it (core.vocabulary), which are also the loan's risk reasons."""
        return label(self.code)


FEATURES: tuple[Feature, ...] = (
    Feature("segment", "categorical"),
    Feature("dpd", "numerical", "ascending"),
    Feature("max_dpd_3m", "numerical", "ascending"),
    Feature("max_dpd_6m", "numerical", "ascending"),
    Feature("max_dpd_12m", "numerical", "ascending"),
    Feature("times_30plus_12m", "numerical", "ascending"),
    Feature("months_on_book", "numerical", "auto_asc_desc"),
    Feature("utilisation", "numerical", "ascending"),
    Feature("active_loans", "numerical", "ascending"),
    Feature("paid_due_ratio_3m", "numerical", "descending"),
    Feature("days_since_payment", "numerical", "ascending"),
    Feature("autodebit_failures_90d", "numerical", "ascending"),
    Feature("broken_promises_12m", "numerical", "ascending"),
    Feature("days_unreachable", "numerical", "ascending"),
    Feature("arrangements", "numerical", "ascending"),
    Feature("outstanding_principal", "numerical", "auto_asc_desc"),
    Feature("product", "categorical"),
    Feature("term", "categorical"),
)
FEATURE_CODES: tuple[str, ...] = tuple(f.code for f in FEATURES)
FEATURES_BY_CODE: dict[str, Feature] = {f.code: f for f in FEATURES}
