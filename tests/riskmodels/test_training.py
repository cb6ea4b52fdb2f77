"""Training a model version: the training set, out-of-time validation, the stored version, refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog, ClosedDay
from riskdesk.lending.models import Loan, LoanMonthSnapshot
from riskdesk.riskmodels import training
from riskdesk.riskmodels.models import ModelVersion
from riskdesk.riskmodels.scorecard import Scorecard
from tests.riskmodels.specs import synthetic_book

MONTH_ENDS = [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)]
# The business date is pinned to 2026-11-23 (tests/conftest.py): the night of the 22nd is the last closed.
LAST_CLOSED = date(2026, 11, 22)


def _history(months: list[date], rows_per_month: int = 1500) -> Callable[[date], training.TrainingSet]:
    """A training_set stand-in: synthetic loan-months for each month end, none sampled away."""

    def training_set(as_of: date) -> training.TrainingSet:
        frames, bads, observed = [], [], []
        for k, month in enumerate(months):
            frame, bad = synthetic_book(rows_per_month, seed=k)
            frames.append(frame)
            bads.append(bad)
            observed += [month] * len(frame)
        month_rows = pd.DataFrame(
            {"observable": rows_per_month, "unobservable": 0, "sampled": rows_per_month},
            index=pd.Index(months, dtype=object),
        )
        return training.TrainingSet(
            pd.concat(frames, ignore_index=True), np.concatenate(bads), pd.Series(observed, dtype=object), month_rows
        )

    return training_set


@pytest.fixture
def closed(db: None) -> date:
    ClosedDay.objects.create(business_date=LAST_CLOSED)
    return LAST_CLOSED


@pytest.fixture
def history(monkeypatch: pytest.MonkeyPatch, closed: date) -> None:
    monkeypatch.setattr(training, "training_set", _history(MONTH_ENDS))


def test_train_stores_a_challenger_with_windows_metrics_and_distribution(db: None, history: None, users: dict) -> None:
    version = training.model_version_train(as_of=date(2026, 11, 22), oot_months=2, note="first", actor=users["admin"])
    version.refresh_from_db()
    assert (version.version, version.status) == (1, "challenger")
    assert (version.training_start, version.training_end) == (date(2026, 1, 31), date(2026, 3, 31))
    assert (version.oot_start, version.oot_end) == (date(2026, 4, 30), date(2026, 5, 31))
    assert (version.base_score, version.base_odds, version.pdo) == (Decimal("600"), Decimal("50"), Decimal("20"))
    assert version.trained_by == users["admin"] and version.note == "first"
    m = version.metrics
    assert set(m["iv"]) == {f.code for f in training.FEATURES}
    assert m["selected"] == [f["code"] for f in version.spec["features"]]
    assert (m["train"]["loans"], m["oot"]["loans"]) == (4500, 3000)
    assert m["train"]["auc"] > 0.8 and m["oot"]["auc"] > 0.8
    assert m["train"]["gini"] == pytest.approx(2 * m["train"]["auc"] - 1)
    assert m["segments"]["to_30"]["oot"]["loans"] + m["segments"]["over_30"]["oot"]["loans"] == 3000
    assert [r["band"] for r in m["calibration"]] == sorted(r["band"] for r in m["calibration"])
    assert sum(r["loans"] for r in m["calibration"]) == 3000
    assert [(r["month"], r["sample"]) for r in m["by_month"]] == [
        ("2026-01-31", "train"),
        ("2026-02-28", "train"),
        ("2026-03-31", "train"),
        ("2026-04-30", "oot"),
        ("2026-05-31", "oot"),
    ]
    assert m["horizon_days"] == {"to_30": 60, "over_30": 30}
    assert m["features"]["dpd"]["label"]
    shares = version.training_distribution
    assert len(shares["score"]) == len(version.spec["score_bins"]) + 1
    assert sum(shares["score"]) == pytest.approx(1.0)
    for feature in version.spec["features"]:
        assert len(shares["features"][feature["code"]]) == len(feature["bins"])
        assert sum(shares["features"][feature["code"]]) == pytest.approx(1.0)
    audit = AuditLog.objects.get(action="model_version.train")
    assert audit.entity_id == str(version.pk) and audit.actor == users["admin"]


def test_the_same_book_trains_the_same_spec_under_the_next_version(db: None, history: None) -> None:
    first = training.model_version_train(as_of=date(2026, 11, 22))
    second = training.model_version_train(as_of=date(2026, 11, 22), base_score=Decimal("500"))
    assert (first.version, second.version) == (1, 2)
    again = training.model_version_train(as_of=date(2026, 11, 22))
    assert again.spec == first.spec and again.metrics == first.metrics
    assert second.spec["scaling"]["base_score"] == 500.0
    frame, _ = synthetic_book(200, seed=9)
    # Another base score shifts every score by the same points, never the PD.
    a, b = Scorecard.from_spec(first.spec).score(frame), Scorecard.from_spec(second.spec).score(frame)
    np.testing.assert_allclose(a.points - b.points, 100.0, atol=1e-9)
    np.testing.assert_allclose(a.pd, b.pd, atol=1e-12)


def test_fewer_than_three_matured_month_ends_are_refused(closed: date, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "training_set", _history(MONTH_ENDS[:2]))
    with pytest.raises(DomainError) as refused:
        training.model_version_train(as_of=date(2026, 11, 22), oot_months=1)
    assert refused.value.code == "not_enough_history"
    assert not ModelVersion.objects.exists()


def test_all_months_held_out_leave_nothing_to_train_on(closed: date, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "training_set", _history(MONTH_ENDS[:3]))
    with pytest.raises(DomainError, match="matured month ends"):
        training.model_version_train(as_of=date(2026, 11, 22), oot_months=3)


def test_too_few_bads_are_refused(closed: date, monkeypatch: pytest.MonkeyPatch) -> None:
    def clean_book(as_of: date) -> training.TrainingSet:
        history = _history(MONTH_ENDS, rows_per_month=100)(as_of)
        bad = np.zeros_like(history.bad)
        bad[:29] = 1  # 29 bads in the training months: one short of MIN_TRAIN_BADS
        return history._replace(bad=bad)

    monkeypatch.setattr(training, "training_set", clean_book)
    with pytest.raises(DomainError) as refused:
        training.model_version_train(as_of=date(2026, 11, 22))
    assert refused.value.code == "not_enough_history"
    assert "29 bads in training" in refused.value.message


def test_an_unclosed_book_is_refused(db: None) -> None:
    with pytest.raises(DomainError) as refused:
        training.model_version_train()
    assert refused.value.code == "not_enough_history"


def test_as_of_defaults_to_the_last_closed_day(history: None, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[date] = []
    book = _history(MONTH_ENDS)
    monkeypatch.setattr(training, "training_set", lambda as_of: asked.append(as_of) or book(as_of))
    training.model_version_train()
    assert asked == [LAST_CLOSED]


def test_an_as_of_after_the_last_closed_day_is_refused(history: None) -> None:
    # The 23rd is today, not closed: its month ends' horizons would count unobserved bads as goods.
    with pytest.raises(DomainError) as refused:
        training.model_version_train(as_of=date(2026, 11, 23))
    assert (refused.value.code, refused.value.field) == ("as_of_not_closed", "as_of")
    assert "2026-11-22" in refused.value.message
    with pytest.raises(CommandError, match="as_of_not_closed"):
        call_command("train_model", "--as-of", "2026-12-31")
    assert not ModelVersion.objects.exists()


def test_an_as_of_on_a_book_never_closed_is_refused(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "training_set", _history(MONTH_ENDS))
    with pytest.raises(DomainError) as refused:
        training.model_version_train(as_of=date(2026, 11, 22))
    assert refused.value.code == "not_enough_history"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pdo", "0"),
        ("pdo", "-20"),
        ("base_odds", "-5"),
        ("base_odds", "0"),
        ("base_odds", "100000"),
        ("base_odds", "NaN"),
        ("base_score", "123456"),
        ("base_score", "Infinity"),
        ("base_score", "600.001"),
    ],
)
def test_scaling_out_of_range_is_refused_before_reading_the_book(
    history: None, django_assert_num_queries: Callable, field: str, value: str
) -> None:
    with django_assert_num_queries(0), pytest.raises(DomainError) as refused:
        training.model_version_train(**{field: Decimal(value)})
    assert (refused.value.code, refused.value.field) == ("invalid_scaling", field)
    assert not ModelVersion.objects.exists()


def test_scaling_up_to_the_columns_bounds_is_accepted(settings: pytest.FixtureRequest) -> None:
    scaling = training.Scaling.from_settings(Decimal("99999.99"), Decimal("0.0001"), Decimal("99999.99"))
    assert (scaling.base_score, scaling.base_odds, scaling.pdo) == (99999.99, 0.0001, 99999.99)


def test_scaling_settings_out_of_range_are_refused(settings: pytest.FixtureRequest) -> None:
    settings.RISKDESK_SCORECARD_SCALING = {"base_score": "600", "base_odds": "50", "pdo": "0"}
    with pytest.raises(DomainError) as refused:
        training.Scaling.from_settings()
    assert refused.value.field == "pdo"


def test_train_model_command_refuses_bad_scaling(history: None) -> None:
    from io import StringIO

    with pytest.raises(CommandError, match="invalid_scaling: pdo"):
        call_command("train_model", "--pdo", "0", stdout=StringIO())


def test_train_model_command_reports_and_refuses(db: None, history: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    out = StringIO()
    call_command("train_model", "--as-of", "2026-11-22", "--oot-months", "2", "--note", "cli", stdout=out)
    text = out.getvalue()
    assert "scorecard v1 stored as challenger" in text
    assert "training 2026-01-31..2026-03-31, out of time 2026-04-30..2026-05-31" in text
    assert "* dpd" in text and "calibration by band" in text
    monkeypatch.setattr(training, "training_set", _history(MONTH_ENDS[:1]))
    with pytest.raises(CommandError, match="not_enough_history"):
        call_command("train_model", "--as-of", "2026-11-22", stdout=StringIO())


# -- the training set from the book's month ends --------------------------------------


def _snapshot(loan: Loan, month_end: date, dpd: int = 0) -> None:
    LoanMonthSnapshot.objects.create(
        month_end=month_end,
        loan=loan,
        dpd=dpd,
        bucket="M0",
        outstanding_principal=loan.principal,
        overdue_amount=Decimal("0.00"),
        status="active",
    )


def test_a_month_end_matures_sixty_days_after(make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()
    for month_end in (date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31)):
        _snapshot(loan, month_end)
    # 2026-09-30 + 60 days = 2026-11-29: not yet closed on 2026-11-28.
    assert training.matured_month_ends(date(2026, 11, 28)) == [date(2026, 8, 31)]
    assert training.matured_month_ends(date(2026, 11, 29)) == [date(2026, 8, 31), date(2026, 9, 30)]


def test_training_set_joins_features_and_outcomes_of_each_matured_month(
    make_loan: Callable[..., Loan], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = make_loan(), make_loan()
    _snapshot(first, date(2026, 7, 31))
    _snapshot(first, date(2026, 8, 31))
    _snapshot(second, date(2026, 8, 31), dpd=40)

    def features_frame(as_of: date, *, base: str) -> pd.DataFrame:
        assert base == "month_end"
        ids = list(
            LoanMonthSnapshot.objects.filter(month_end=as_of).order_by("loan_id").values_list("loan_id", flat=True)
        )
        frame, _ = synthetic_book(len(ids), seed=as_of.month)
        frame.index = pd.Index(ids, name="loan_id")
        return frame

    def outcomes_frame(observation: date) -> pd.DataFrame:
        # Only the second loan went bad after August; outcome rows in another order than features.
        ids = [second.pk, first.pk] if observation.month == 8 else [first.pk]
        return pd.DataFrame(
            {"segment": "to_30", "bad": [1 if i == second.pk else 0 for i in ids]}, index=pd.Index(ids, name="loan_id")
        )

    monkeypatch.setattr(training.book_features, "features_frame", features_frame)
    monkeypatch.setattr(training.book_features, "outcomes_frame", outcomes_frame)
    frame, bad, observation, _ = training.training_set(date(2026, 11, 1))
    assert list(frame.columns) == [f.code for f in training.FEATURES]
    assert observation.tolist() == [date(2026, 7, 31), date(2026, 8, 31), date(2026, 8, 31)]
    assert bad.tolist() == [0, 0, 1]


def test_training_set_leaves_out_loan_months_whose_outcome_is_not_observable(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loan 2 is in the terminal bucket at the month end: nowhere worse to go, bad is NaN.
    month_end = date(2026, 8, 31)
    frame, _ = synthetic_book(3, seed=1)
    outcomes = pd.DataFrame(
        {"segment": ["to_30", "over_30", "to_30"], "bad": [0.0, np.nan, 1.0]}, index=pd.Index([1, 2, 3], name="loan_id")
    )
    monkeypatch.setattr(training, "matured_month_ends", lambda as_of: [month_end])
    monkeypatch.setattr(training.book_features, "features_frame", lambda as_of, *, base: frame)
    monkeypatch.setattr(training.book_features, "outcomes_frame", lambda observation: outcomes)
    result = training.training_set(date(2026, 11, 1))
    assert result.frame["outstanding_principal"].tolist() == frame.loc[[1, 3], "outstanding_principal"].tolist()
    assert result.bad.tolist() == [0, 1] and result.bad.dtype == np.int64
    assert result.observation.tolist() == [month_end, month_end]
    assert result.month_rows.loc[month_end].to_dict() == {"observable": 2, "unobservable": 1, "sampled": 2}


def _sampled_book(monkeypatch: pytest.MonkeyPatch, months: list[date], loans: int, *, shuffle: bool = False) -> None:
    """Stub the book: `loans` loan-months per month end, the loan id carried in outstanding_principal."""

    def features_frame(as_of: date, *, base: str) -> pd.DataFrame:
        frame, _ = synthetic_book(loans, seed=as_of.month)
        frame["outstanding_principal"] = frame.index.astype(float)
        return frame.sample(frac=1.0, random_state=7) if shuffle else frame

    def outcomes_frame(observation: date) -> pd.DataFrame:
        _, bad = synthetic_book(loans, seed=observation.month)
        return pd.DataFrame({"segment": "to_30", "bad": bad}, index=pd.Index(np.arange(1, loans + 1), name="loan_id"))

    monkeypatch.setattr(training, "matured_month_ends", lambda as_of: months)
    monkeypatch.setattr(training.book_features, "features_frame", features_frame)
    monkeypatch.setattr(training.book_features, "outcomes_frame", outcomes_frame)


def test_each_month_end_is_sampled_down_to_the_cap_the_same_way_every_time(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training, "TRAINING_ROWS_PER_MONTH", 40)
    months = MONTH_ENDS[:2]
    _sampled_book(monkeypatch, months, 100)
    first = training.training_set(date(2026, 11, 1))
    _sampled_book(monkeypatch, months, 100, shuffle=True)
    again = training.training_set(date(2026, 11, 1))

    pd.testing.assert_frame_equal(first.frame, again.frame)
    np.testing.assert_array_equal(first.bad, again.bad)
    assert first.observation.value_counts().to_dict() == {months[0]: 40, months[1]: 40}
    assert first.month_rows.to_dict("index") == {
        m: {"observable": 100, "unobservable": 0, "sampled": 40} for m in months
    }
    ids = first.frame["outstanding_principal"].astype(int).to_numpy()
    january, february = ids[:40], ids[40:]
    assert len(set(january)) == 40 and list(january) == sorted(january)
    assert set(january) != set(february)  # each month draws its own sample
    # Every sampled row keeps its own loan's outcome.
    _, bad = synthetic_book(100, seed=1)
    assert first.bad[:40].tolist() == bad[january - 1].tolist()


def test_training_metrics_record_the_rows_before_and_after_sampling(
    closed: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training, "TRAINING_ROWS_PER_MONTH", 1000)
    _sampled_book(monkeypatch, MONTH_ENDS, 1500)
    version = training.model_version_train(oot_months=2)
    m = version.metrics
    assert m["sampling"] == {
        "rows_per_month": 1000,
        "train": {"rows": 4500, "sampled": 3000, "unobservable": 0},
        "oot": {"rows": 3000, "sampled": 2000, "unobservable": 0},
    }
    assert (m["train"]["loans"], m["oot"]["loans"]) == (3000, 2000)
