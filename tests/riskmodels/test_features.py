"""The scorecard's features and target, in SQL, against values worked out by hand.

One small book lived through from January to D = 2026-09-15 by the real services and
close of day (payments by value date, a late payment, a cure, autodebit failures, a
penalty waiver, the cases step 4 opens), plus the collections facts a desk would add
(contact attempts, promises). Each expected value below is the feature's rule applied
to the scenario's dates and amounts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from riskdesk import nightly
from riskdesk.collections.models import Case, ContactAttempt, Promise
from riskdesk.lending import services
from riskdesk.lending.models import CreditLine, Loan, LoanMonthSnapshot, Product
from riskdesk.lending.selectors import loan_ledger
from riskdesk.riskmodels.features import FEATURE_CODES, features_frame, is_matured, outcomes_frame

pytestmark = pytest.mark.django_db

D = date(2026, 9, 15)
MONTH_END = date(2026, 8, 31)
LEVEL_A = Decimal("1089.91")  # loan A's level installment (12000 over 12 months at 0.045 % a day)


def pay(loan: Loan, on: date) -> Decimal:
    """Pay what is due on `on` (installments, penalty), as a borrower would."""
    amount = loan_ledger(Loan.objects.get(pk=loan.pk)).amount_due(on)
    services.payment_post(
        loan=loan, amount=amount, value_date=on, kind="regular", channel="app", idempotency_key=f"{loan.pk}-{on}"
    )
    return amount


@dataclass
class Book:
    a: Loan  # borrower 1: paid to June, then July and August unpaid (paid 09-20, after D)
    b: Loan  # borrower 1: a late August installment, September's 5 days late at D
    c: Loan  # borrower 1: 19 days late in March, 2 days in July, current at D
    e: Loan  # borrower 2: drawn 09-01, nothing due yet
    g: Loan  # borrower 2: never paid since disbursement in May
    line1: CreditLine
    line2: CreditLine
    case1: Case  # borrower 1's case open at D (step 4 opened it in August)
    case2: Case  # borrower 2's case open at D


@pytest.fixture
def book(
    make_loan: Callable[..., Loan], product: Product, credit_line: CreditLine, settings: pytest.FixtureRequest
) -> Book:
    # The limit in force at D is 90000: cut on 03-01, cut again after D (on the pinned 11-23).
    settings.BUSINESS_DATE_OVERRIDE = "2026-03-01"
    services.credit_line_change_limit(credit_line=credit_line, limit=Decimal("90000.00"), reason="review")
    settings.BUSINESS_DATE_OVERRIDE = "2026-11-23"
    a = make_loan()
    c = make_loan(principal="6000.00")
    b = make_loan(principal="3000.00", term=3, method="equal_principal", disbursed_on=date(2026, 6, 10))
    paid_off = make_loan(principal="1000.00", term=1, disbursed_on=date(2026, 2, 5))
    borrower2 = services.borrower_register(
        name="李四", national_id="110101199202022345", phones=[{"number": "13900139000", "label": "mobile"}]
    )
    line2 = services.credit_line_open(borrower=borrower2, limit=Decimal("30000.00"))
    g = services.loan_originate(
        credit_line=line2,
        product=product,
        principal=Decimal("12000.00"),
        term=12,
        method="equal_installment",
        disbursed_on=date(2026, 5, 20),
    )
    e = services.loan_originate(
        credit_line=line2,
        product=product,
        principal=Decimal("10000.00"),
        term=6,
        method="equal_installment",
        disbursed_on=date(2026, 9, 1),
    )
    for on in (date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)):
        assert pay(a, on) == LEVEL_A
    services.loan_arrangement_execute(loan=a, kind="penalty_waiver", effective_on=date(2026, 9, 1), reason="hardship")
    pay(a, date(2026, 9, 20))  # after D: counts for nothing at D
    pay(paid_off, date(2026, 3, 5))
    for on in (date(2026, 3, 20), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)):
        pay(c, on)
    for on in (date(2026, 7, 3), date(2026, 7, 31), date(2026, 8, 31)):
        pay(c, on)
    assert pay(b, date(2026, 7, 10)) == Decimal("1040.50")  # 1000 + 3000 x 0.00045 x 30
    # 1000 + 2000 x 0.00045 x 31, and penalty 1000 x 0.000675 x 10 days (08-11..08-20).
    assert pay(b, date(2026, 8, 20)) == Decimal("1034.65")
    for on in (date(2026, 6, 12), date(2026, 9, 10), date(2026, 9, 12)):
        services.autodebit_failure_record(
            loan=b, attempted_on=on, amount=Decimal("1013.95"), cause="insufficient_funds"
        )
    nightly.close_days(as_of=D)
    case1 = Case.objects.get(borrower=credit_line.borrower, status="open")
    case2 = Case.objects.get(borrower=borrower2, status="open")
    _collections_facts(case1, Case.objects.get(borrower=credit_line.borrower, status="closed"))
    return Book(a, b, c, e, g, credit_line, line2, case1, case2)


def _collections_facts(case: Case, march_case: Case) -> None:
    """Promises and contact attempts, as the desk records them."""
    for decided_on, status, on_case in (
        (date(2026, 8, 25), "broken", case),
        (date(2026, 9, 5), "broken", case),
        (date(2026, 8, 28), "kept", case),
        (date(2025, 8, 20), "broken", march_case),  # over a year before D and the month end
    ):
        Promise.objects.create(
            case=on_case,
            amount=Decimal("100.00"),
            made_on=decided_on,
            due_on=decided_on,
            status=status,
            decided_on=decided_on,
        )
    shanghai = ZoneInfo("Asia/Shanghai")
    phone = case.borrower.contact_points.get(kind="phone")
    for at, outcome, allowed in (
        (datetime(2026, 8, 20, 10, 0, tzinfo=UTC), "right_party", True),
        # 01:00 in Shanghai on 09-12 is 09-11 in UTC: days unreachable count from 09-11.
        (datetime(2026, 9, 12, 1, 0, tzinfo=shanghai), "promise_to_pay", True),
        (datetime(2026, 9, 13, 10, 0, tzinfo=UTC), "no_answer", True),  # did not reach the borrower
        (datetime(2026, 9, 14, 10, 0, tzinfo=UTC), "right_party", False),  # blocked by the gate
        (datetime(2026, 9, 20, 10, 0, tzinfo=UTC), "right_party", True),  # after D
    ):
        ContactAttempt.objects.create(
            case=case,
            borrower=case.borrower,
            channel="phone",
            contact_point=phone,
            source="collector",
            at=at,
            allowed=allowed,
            rule="" if allowed else "quiet_hours",
            outcome=outcome,
        )


def row(frame: pd.DataFrame, loan: Loan) -> dict[str, object]:
    return frame.loc[loan.pk].to_dict()


def expected(**values: object) -> dict[str, object]:
    """Every feature, in order; NaN (missing) compares equal to NaN here."""
    return {code: NAN if values[code] is NAN else values[code] for code in FEATURE_CODES}


class _Nan:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and np.isnan(other)

    def __repr__(self) -> str:
        return "nan"


NAN = _Nan()


def test_tonight_features_equal_the_hand_computed_values(book: Book) -> None:
    frame = features_frame(D, base="tonight")
    a, b, c, e, g = (Loan.objects.get(pk=loan.pk) for loan in (book.a, book.b, book.c, book.e, book.g))
    drawn1 = float(a.outstanding_principal + b.outstanding_principal + c.outstanding_principal)
    drawn2 = float(e.outstanding_principal + g.outstanding_principal)
    assert list(frame.columns) == list(FEATURE_CODES) and frame.index.name == "loan_id"
    assert frame.index.dtype == np.int64 and sorted(frame.index) == sorted(x.pk for x in (a, b, c, e, g))
    common1 = {"active_loans": 3.0, "utilisation": pytest.approx(drawn1 / 90000), "product": "jiebei"}
    # Borrower 1's case: last reached 09-11 (UTC); broken promises decided 08-25 and 09-05.
    collections1 = {"broken_promises_12m": 2.0, "days_unreachable": 4.0}
    assert row(frame, a) == expected(
        segment="over_30",
        dpd=46.0,  # since 07-31
        max_dpd_3m=46.0,
        max_dpd_6m=46.0,
        max_dpd_12m=46.0,
        times_30plus_12m=1.0,  # M1 -> M2 on 08-31
        months_on_book=7.0,  # 227 days
        paid_due_ratio_3m=pytest.approx(1 / 3),  # 06-30's installment of three due since 06-17
        days_since_payment=77.0,  # 06-30; 09-20's payment is after D
        autodebit_failures_90d=0.0,
        arrangements=1.0,  # the waiver of 09-01
        outstanding_principal=float(a.outstanding_principal),
        term="12",
        **common1,
        **collections1,
    )
    assert row(frame, b) == expected(
        segment="to_30",
        dpd=5.0,
        max_dpd_3m=9.0,  # the August installment, paid on 08-20: 9 days late on 08-19
        max_dpd_6m=9.0,
        max_dpd_12m=9.0,
        times_30plus_12m=0.0,
        months_on_book=3.0,  # 97 days
        paid_due_ratio_3m=pytest.approx((1040.50 + 1034.65) / (1040.50 + 1027.90 + 1013.95)),
        days_since_payment=26.0,
        autodebit_failures_90d=2.0,  # 09-10 and 09-12, not 06-12
        arrangements=0.0,
        outstanding_principal=float(b.outstanding_principal),
        term="3",
        **common1,
        **collections1,
    )
    assert row(frame, c) == expected(
        segment="to_30",
        dpd=0.0,
        max_dpd_3m=2.0,  # June's installment paid on 07-03
        max_dpd_6m=2.0,  # March's 19 days ended 03-19, 180 days before D: outside (D - 180, D]
        max_dpd_12m=19.0,
        times_30plus_12m=0.0,
        months_on_book=7.0,
        paid_due_ratio_3m=1.0,  # three level installments due, three paid
        days_since_payment=15.0,
        autodebit_failures_90d=0.0,
        arrangements=0.0,
        outstanding_principal=float(c.outstanding_principal),
        term="12",
        **common1,
        **collections1,
    )
    common2 = {"active_loans": 2.0, "utilisation": pytest.approx(drawn2 / 30000), "product": "jiebei"}
    unreachable2 = float((D - book.case2.opened_on).days)  # no contact at all since the case opened
    assert row(frame, g) == expected(
        segment="over_30",
        dpd=87.0,  # since 06-20
        max_dpd_3m=87.0,
        max_dpd_6m=87.0,
        max_dpd_12m=87.0,
        times_30plus_12m=1.0,  # M1 -> M2 on 07-21 (M2 -> M3 starts above 30 already)
        months_on_book=3.0,  # 118 days
        paid_due_ratio_3m=0.0,
        days_since_payment=NAN,  # never paid
        autodebit_failures_90d=0.0,
        broken_promises_12m=0.0,
        days_unreachable=unreachable2,
        arrangements=0.0,
        outstanding_principal=12000.0,
        term="12",
        **common2,
    )
    assert row(frame, e) == expected(
        segment="to_30",
        dpd=0.0,
        max_dpd_3m=0.0,
        max_dpd_6m=0.0,
        max_dpd_12m=0.0,
        times_30plus_12m=0.0,
        months_on_book=0.0,
        paid_due_ratio_3m=NAN,  # nothing fell due
        days_since_payment=NAN,
        autodebit_failures_90d=0.0,
        broken_promises_12m=0.0,
        days_unreachable=unreachable2,  # the borrower's case (G's) is open
        arrangements=0.0,
        outstanding_principal=10000.0,
        term="6",
        **common2,
    )


def test_a_chunk_holds_its_id_range_and_still_counts_the_borrowers_other_loans(book: Book) -> None:
    whole = features_frame(D, base="tonight")
    chunk = features_frame(D, base="tonight", lo=book.c.pk, hi=book.b.pk)
    assert list(chunk.index) == [book.c.pk, book.b.pk]
    pd.testing.assert_frame_equal(chunk, whole.loc[[book.c.pk, book.b.pk]])
    assert chunk["active_loans"].tolist() == [3.0, 3.0]


def test_month_end_features_read_the_snapshot_and_only_facts_dated_by_then(book: Book) -> None:
    frame = features_frame(MONTH_END, base="month_end")
    snapshot = dict(
        LoanMonthSnapshot.objects.filter(month_end=MONTH_END).values_list("loan_id", "outstanding_principal")
    )
    # E was drawn after the month end; the paid-off loan was gone by then.
    assert sorted(frame.index) == sorted(x.pk for x in (book.a, book.b, book.c, book.g))
    drawn1 = float(snapshot[book.a.pk] + snapshot[book.b.pk] + snapshot[book.c.pk])
    common1 = {"active_loans": 3.0, "utilisation": pytest.approx(drawn1 / 90000), "product": "jiebei"}
    # Reached on 08-20; only the broken promise of 08-25 is decided by 08-31.
    collections1 = {"broken_promises_12m": 1.0, "days_unreachable": 11.0}
    assert book.case1.opened_on < date(2026, 8, 20)
    assert row(frame, book.a) == expected(
        segment="over_30",
        dpd=31.0,
        max_dpd_3m=31.0,  # July's installment, settled on 09-20: still late at the month end
        max_dpd_6m=31.0,
        max_dpd_12m=31.0,
        times_30plus_12m=1.0,
        months_on_book=7.0,  # 212 days
        paid_due_ratio_3m=pytest.approx(1 / 3),
        days_since_payment=62.0,
        autodebit_failures_90d=0.0,
        arrangements=0.0,  # the waiver takes effect on 09-01
        outstanding_principal=float(snapshot[book.a.pk]),
        term="12",
        **common1,
        **collections1,
    )
    assert row(frame, book.b) == expected(
        segment="to_30",
        dpd=0.0,
        max_dpd_3m=9.0,
        max_dpd_6m=9.0,
        max_dpd_12m=9.0,
        times_30plus_12m=0.0,
        months_on_book=2.0,  # 82 days
        paid_due_ratio_3m=pytest.approx((1040.50 + 1034.65) / (1040.50 + 1027.90)),
        days_since_payment=11.0,
        autodebit_failures_90d=1.0,  # 06-12
        arrangements=0.0,
        outstanding_principal=float(snapshot[book.b.pk]),
        term="3",
        **common1,
        **collections1,
    )
    c_row = row(frame, book.c)
    assert (c_row["max_dpd_3m"], c_row["max_dpd_6m"], c_row["max_dpd_12m"]) == (2.0, 19.0, 19.0)
    assert row(frame, book.g)["dpd"] == 72.0 and row(frame, book.g)["utilisation"] == pytest.approx(
        float(snapshot[book.g.pk]) / 30000
    )


def test_outcomes_follow_each_segments_target(book: Book) -> None:
    july = outcomes_frame(date(2026, 7, 31))
    # A (current) reaches M2 on 08-31, inside 60 days; B and C never pass 30; G (M2 at
    # 41 days) rolls to M3 on 08-20, inside 30 days.
    assert july.to_dict("index") == {
        book.a.pk: {"segment": "to_30", "bad": 1},
        book.b.pk: {"segment": "to_30", "bad": 0},
        book.c.pk: {"segment": "to_30", "bad": 0},
        book.g.pk: {"segment": "over_30", "bad": 1},
    }
    august = outcomes_frame(MONTH_END)
    # A is in M2 and never reaches M3; G reaches M4 only on 09-19, after what is closed.
    assert august.loc[book.a.pk].to_dict() == {"segment": "over_30", "bad": 0}
    assert august.loc[book.g.pk].to_dict() == {"segment": "over_30", "bad": 0}
    assert is_matured(date(2026, 7, 16), D) and not is_matured(date(2026, 7, 31), D)
