"""Limit cuts on champion downgrades, per the limit policy in force: amounts, reason, reruns.

With the tiny scorecard a loan never paid since 01-31 is band B while current (no payment
yet: z = -3.24), D from 03-01 (1-14 days past due: z = -1.98) and E from 03-31 (over 30:
z = 0.25). The policy cuts on entry into D or E by 33.5 %, to no less than 5000 yuan.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from riskdesk import nightly
from riskdesk.core.jobs import step_run
from riskdesk.core.models import JobRun
from riskdesk.lending import services
from riskdesk.lending.models import CreditLine, CreditLineEvent, Loan, Product
from riskdesk.riskmodels import scoring
from riskdesk.riskmodels.models import BandChange, LimitPolicy, LimitReduction
from tests.riskmodels.test_scoring_step import scorecard_version

pytestmark = pytest.mark.django_db

FIRST, SECOND = date(2026, 3, 1), date(2026, 3, 31)


def policy(effective_from: date = date(2026, 1, 1), *, enabled: bool = True) -> LimitPolicy:
    return LimitPolicy.objects.create(
        effective_from=effective_from,
        enabled=enabled,
        reduce_on_bands="DE",
        reduce_by=Decimal("0.335"),
        minimum_limit=Decimal("5000.00"),
    )


def line_with_loan(product: Product, n: int, limit: str, principal: str) -> CreditLine:
    borrower = services.borrower_register(
        name=f"borrower {n}", national_id=f"11010119900101{n:04d}", phones=[{"number": f"1380000{n:04d}"}]
    )
    line = services.credit_line_open(borrower=borrower, limit=Decimal(limit))
    services.loan_originate(
        credit_line=line,
        product=product,
        principal=Decimal(principal),
        term=12,
        method="equal_installment",
        disbursed_on=date(2026, 1, 31),
    )
    return line


def limits(*lines: CreditLine) -> list[Decimal]:
    return [CreditLine.objects.get(pk=line.pk).limit for line in lines]


def test_a_downgrade_cuts_each_line_once_by_the_policy(
    make_loan: Callable[..., Loan], product: Product, credit_line: CreditLine
) -> None:
    make_loan()
    make_loan()  # a second loan on the same line, downgraded the same night: still one cut
    floor = line_with_loan(product, 2, "20001.00", "6000.00")
    drawn = line_with_loan(product, 3, "10000.00", "9000.00")
    full = line_with_loan(product, 4, "9000.00", "9000.00")
    minimum = line_with_loan(product, 5, "6000.00", "1000.00")
    policy()
    scorecard_version()
    nightly.close_days(as_of=FIRST - date.resolution)
    assert not LimitReduction.objects.exists()  # first scored on 01-31 ('' -> B): not a downgrade
    nightly.close_days(as_of=FIRST)
    # 100000 x 0.665 = 66500; 20001 x 0.665 = 13300.665, down to the yuan; 10000 x 0.665 = 6650
    # is below the 9000 drawn; 9000 is not lower than 9000; 6000 x 0.665 = 3990 is below 5000.
    assert limits(credit_line, floor, drawn, full, minimum) == [
        Decimal("66500.00"),
        Decimal("13300.00"),
        Decimal("9000.00"),
        Decimal("9000.00"),
        Decimal("5000.00"),
    ]
    cuts = LimitReduction.objects.filter(band_change__on=FIRST).order_by("credit_line_id")
    assert [(c.credit_line_id, c.limit_before, c.limit_after) for c in cuts] == [
        (credit_line.pk, Decimal("100000.00"), Decimal("66500.00")),
        (floor.pk, Decimal("20001.00"), Decimal("13300.00")),
        (drawn.pk, Decimal("10000.00"), Decimal("9000.00")),
        (minimum.pk, Decimal("6000.00"), Decimal("5000.00")),
    ]
    first_loan = Loan.objects.filter(credit_line=credit_line).order_by("id").first()
    assert cuts[0].band_change.loan_id == first_loan.pk
    assert (cuts[0].band_change.from_band, cuts[0].band_change.to_band) == ("B", "D")
    events = CreditLineEvent.objects.filter(kind="limit_change", credit_line=credit_line)
    assert list(events.values_list("reason", "limit_before", "limit_after")) == [
        ("risk_band_downgrade", Decimal("100000.00"), Decimal("66500.00"))
    ]


def test_a_line_is_cut_on_entry_into_the_bands_not_again_within_them(
    make_loan: Callable[..., Loan], credit_line: CreditLine
) -> None:
    make_loan()
    policy()
    scorecard_version()
    nightly.close_days(as_of=SECOND)
    # B -> D on 03-01 entered the bands; D -> E on 03-31 moved within them.
    assert list(BandChange.objects.exclude(from_band="").values_list("on", "from_band", "to_band")) == [
        (FIRST, "B", "D"),
        (SECOND, "D", "E"),
    ]
    assert limits(credit_line) == [Decimal("66500.00")]
    assert list(LimitReduction.objects.values_list("band_change__on", flat=True)) == [FIRST]


def test_a_rerun_cuts_nothing_twice(make_loan: Callable[..., Loan], credit_line: CreditLine) -> None:
    make_loan()
    policy()
    scorecard_version()
    nightly.close_days(as_of=FIRST)
    assert limits(credit_line) == [Decimal("66500.00")]
    assert scoring.limits_reduce(FIRST) == {"limits_reduced": 0}
    JobRun.objects.filter(step=scoring.STEP_NAME, business_date=FIRST).delete()
    step_run(scoring.SCORING_STEP, FIRST)
    assert limits(credit_line) == [Decimal("66500.00")]
    assert LimitReduction.objects.count() == 1 and BandChange.objects.filter(on=FIRST).count() == 1


def test_only_the_enabled_policy_in_force_cuts(make_loan: Callable[..., Loan], credit_line: CreditLine) -> None:
    make_loan()
    policy(enabled=False)
    policy(date(2026, 3, 15))  # in force from 03-15: too late for the entry of 03-01
    scorecard_version()
    nightly.close_days(as_of=SECOND)
    assert BandChange.objects.filter(on=FIRST, from_band="B", to_band="D").exists()
    assert limits(credit_line) == [Decimal("100000.00")]
    assert not LimitReduction.objects.exists()
