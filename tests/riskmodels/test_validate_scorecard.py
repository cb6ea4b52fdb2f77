"""The scorecard pipeline on the UCI German credit data lands where logistic scorecards do."""

from __future__ import annotations

import re
from io import StringIO

from django.core.management import call_command


def test_german_credit_cross_validated_auc_is_between_076_and_082() -> None:
    out = StringIO()
    call_command("validate_scorecard", "--dataset", "germancredit", "--folds", "5", "--seed", "0", stdout=out)
    text = out.getvalue()
    assert "1000 applicants, 300 bad" in text
    folds = re.findall(r"^\s+(\d)\s+200\s+60\s+\d+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", text, re.MULTILINE)
    assert [int(f[0]) for f in folds] == [1, 2, 3, 4, 5]
    for _, auc, ks, gini in folds:
        assert abs(float(gini) - (2 * float(auc) - 1)) < 2e-4
        assert 0 < float(ks) < 1
    mean_auc = float(re.search(r"^mean AUC ([\d.]+) is inside", text, re.MULTILINE).group(1))
    assert 0.76 <= mean_auc <= 0.82
    assert abs(mean_auc - sum(float(f[1]) for f in folds) / 5) < 1e-4
