"""Close of day step 4: cases open past grace end, cover a borrower's overdue loans, route, prioritise and close."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from riskdesk import nightly
from riskdesk.collections import cases
from riskdesk.collections.models import Case, Promise, Queue, RoutingRule, Stage
from riskdesk.core.models import AuditLog, JobRun
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, GracePolicy, Loan, Product

D = Decimal
pytestmark = pytest.mark.django_db

# make_loan's first installment: 12000.00 over 12 months from 2026-01-31, due 2026-02-28,
# 1089.91 principal and interest, grace (3 days) ending 2026-03-03.
GRACE_END = date(2026, 3, 3)


def pay(loan: Loan, on: date, amount: str) -> None:
    services.payment_post(
        loan=loan, amount=D(amount), value_date=on, kind="regular", channel="app", idempotency_key=f"{loan.pk}-{on}"
    )


def set_overdue(
    loan: Loan,
    *,
    dpd: int,
    bucket: str,
    overdue: str,
    grace_end: date = GRACE_END,
    risk_band: str = "",
    risk_pd: str | None = None,
) -> None:
    """The loan's close-of-day facts as step 1 would leave them, to test step 4 alone."""
    Loan.objects.filter(pk=loan.pk).update(
        dpd=dpd,
        bucket=bucket,
        overdue_amount=D(overdue),
        grace_end=grace_end,
        in_grace=False,
        risk_band=risk_band,
        risk_pd=D(risk_pd) if risk_pd else None,
    )


def open_case(borrower: Borrower) -> Case:
    return Case.objects.get(borrower=borrower, status=Case.Status.OPEN)


# -- opening -----------------------------------------------------------------------------


def test_no_case_opens_while_the_loan_is_inside_grace(make_loan: Callable[..., Loan]) -> None:
    make_loan()
    nightly.close_days(as_of=GRACE_END)
    assert not Case.objects.exists()


def test_a_case_opens_the_day_after_grace_end(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 4))
    case = open_case(borrower)
    # 1089.91 principal and interest + 2.53 penalty (938.71 x 4 days x 0.000675).
    assert (case.opened_on, case.stage, case.worst_bucket, case.max_dpd) == (date(2026, 3, 4), "early", "M1", 4)
    assert case.overdue_amount == D("1092.44")
    assert list(case.loans.all()) == [loan]
    assert case.queue.code == "early"
    assert AuditLog.objects.filter(action="case.open", entity_id=str(case.pk)).count() == 1


def test_the_step_runs_after_lending_and_counts_what_it_did(make_loan: Callable[..., Loan]) -> None:
    make_loan()
    nightly.close_days(as_of=date(2026, 3, 4))
    run = JobRun.objects.get(step="collections.cases", business_date=date(2026, 3, 4))
    assert run.rows["cases_opened"] == 1
    assert run.rows["cases_routed"] == 1
    assert run.rows["promises_broken"] == 0


def test_case_open_after_days_delays_the_case(
    product: Product, make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    GracePolicy.objects.create(product=product, effective_from=date(2026, 1, 1), grace_days=3, case_open_after_days=5)
    make_loan()
    nightly.close_days(as_of=date(2026, 3, 8))
    assert not Case.objects.exists()
    nightly.close_days(as_of=date(2026, 3, 9))
    assert open_case(borrower).opened_on == date(2026, 3, 9)


def test_the_policy_in_force_on_the_oldest_due_date_governs(
    product: Product, make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    loan = make_loan()
    # A version from after the oldest overdue due date (2026-02-28) does not apply to it.
    GracePolicy.objects.create(product=product, effective_from=date(2026, 3, 1), case_open_after_days=10)
    set_overdue(loan, dpd=4, bucket="M1", overdue="1092.44")
    cases.cases_refresh(date(2026, 3, 4))
    assert open_case(borrower).opened_on == date(2026, 3, 4)


def test_one_case_covers_all_the_borrowers_overdue_loans(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    first = make_loan()
    second = make_loan(principal="3000.00", term=3, method="equal_principal", disbursed_on=date(2026, 1, 31))
    nightly.close_days(as_of=date(2026, 3, 4))
    case = Case.objects.get(borrower=borrower)
    first.refresh_from_db()
    second.refresh_from_db()
    assert set(case.loans.all()) == {first, second}
    assert case.overdue_amount == first.overdue_amount + second.overdue_amount


# -- stage and write-off review ------------------------------------------------------------


@pytest.mark.parametrize(
    ("dpd", "bucket", "stage", "review"),
    [
        (4, "M1", Stage.EARLY, ""),
        (30, "M1", Stage.EARLY, ""),
        (31, "M2", Stage.MID, ""),
        (90, "M3", Stage.MID, ""),
        (91, "M4", Stage.LATE, ""),
        (180, "M6", Stage.LATE, ""),
        (181, "M7+", Stage.WRITE_OFF_REVIEW, "pending"),
    ],
)
def test_stage_follows_the_worst_bucket(
    make_loan: Callable[..., Loan], borrower: Borrower, dpd: int, bucket: str, stage: Stage, review: str
) -> None:
    set_overdue(make_loan(), dpd=dpd, bucket=bucket, overdue="1000.00")
    cases.cases_refresh(date(2026, 9, 1))
    case = open_case(borrower)
    assert (case.stage, case.worst_bucket, case.max_dpd, case.write_off_review) == (stage, bucket, dpd, review)
    assert case.queue.code == stage


def test_the_worst_of_two_loans_sets_the_stage(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    set_overdue(make_loan(), dpd=10, bucket="M1", overdue="100.00")
    set_overdue(make_loan(principal="3000.00"), dpd=45, bucket="M2", overdue="200.00")
    cases.cases_refresh(date(2026, 9, 1))
    case = open_case(borrower)
    assert (case.stage, case.worst_bucket, case.max_dpd, case.overdue_amount) == ("mid", "M2", 45, D("300.00"))


def test_an_open_case_moves_stage_as_days_pass(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    loan = make_loan()
    set_overdue(loan, dpd=30, bucket="M1", overdue="1000.00")
    cases.cases_refresh(date(2026, 3, 30))
    set_overdue(loan, dpd=31, bucket="M2", overdue="1020.00")
    counts = cases.cases_refresh(date(2026, 3, 31))
    case = open_case(borrower)
    assert (case.stage, case.opened_on, case.updated_on, case.queue.code) == (
        "mid",
        date(2026, 3, 30),
        date(2026, 3, 31),
        "mid",
    )
    assert (counts["cases_opened"], counts["cases_updated"], counts["cases_routed"]) == (0, 1, 1)


# -- expected loss and priority --------------------------------------------------------------


def test_expected_loss_uses_the_scored_pd_else_the_buckets_default(
    make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    set_overdue(make_loan(), dpd=45, bucket="M2", overdue="1000.00", risk_pd="0.123456")
    set_overdue(make_loan(principal="3000.00"), dpd=10, bucket="M1", overdue="500.00")
    cases.cases_refresh(date(2026, 9, 1))
    case = open_case(borrower)
    # 0.123456 x 1000.00 + 0.10 (M1 default) x 500.00 = 123.456 + 50.00
    assert case.expected_loss == D("173.46")
    assert case.priority == D("173.46")


def test_a_promise_due_raises_priority_by_the_boost(
    make_loan: Callable[..., Loan], borrower: Borrower, users: dict
) -> None:
    set_overdue(make_loan(), dpd=45, bucket="M2", overdue="1000.00")
    cases.cases_refresh(date(2026, 9, 1))
    case = open_case(borrower)
    Promise.objects.create(case=case, amount=D("500.00"), made_on=date(2026, 9, 1), due_on=date(2026, 9, 3))
    cases.cases_refresh(date(2026, 9, 2))
    case.refresh_from_db()
    assert (case.priority, case.next_promise_on) == (D("250.00"), date(2026, 9, 3))
    cases.cases_refresh(date(2026, 9, 3))
    case.refresh_from_db()
    # 0.25 x 1000.00 + 1000.00 for the promise due on the day.
    assert case.priority == D("1250.00")


# -- routing -------------------------------------------------------------------------------


@pytest.fixture
def special() -> Queue:
    return Queue.objects.create(code="special", name="Special", stage=Stage.MID)


def route_one(make_loan: Callable[..., Loan], borrower: Borrower, **facts: str) -> str:
    set_overdue(make_loan(), dpd=int(facts.pop("dpd", "45")), bucket=facts.pop("bucket", "M2"), **facts)
    cases.cases_refresh(date(2026, 9, 1))
    return open_case(borrower).queue.code


def test_a_rule_on_risk_band_routes_a_case_with_a_loan_in_that_band(
    special: Queue, make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    RoutingRule.objects.create(order=1, queue=special, risk_bands="DE")
    assert route_one(make_loan, borrower, overdue="100.00", risk_band="E") == "special"


def test_a_rule_on_risk_band_skips_a_case_outside_it(
    special: Queue, make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    RoutingRule.objects.create(order=1, queue=special, risk_bands="DE")
    assert route_one(make_loan, borrower, overdue="100.00", risk_band="B") == "mid"


@pytest.mark.parametrize(("overdue", "queue"), [("999.99", "mid"), ("1000.00", "special"), ("5000.00", "mid")])
def test_a_rule_on_overdue_amount_takes_min_inclusive_max_exclusive(
    special: Queue, make_loan: Callable[..., Loan], borrower: Borrower, overdue: str, queue: str
) -> None:
    RoutingRule.objects.create(order=1, queue=special, min_overdue=D("1000.00"), max_overdue=D("5000.00"))
    assert route_one(make_loan, borrower, overdue=overdue) == queue


def test_a_rule_on_stage_routes_only_that_stage(
    special: Queue, make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    RoutingRule.objects.create(order=1, queue=special, stage=Stage.LATE)
    assert route_one(make_loan, borrower, overdue="100.00") == "mid"


def test_english_speakers_early_cases_go_to_the_english_queue(
    make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    Borrower.objects.filter(pk=borrower.pk).update(language="en")
    assert route_one(make_loan, borrower, dpd="10", bucket="M1", overdue="100.00") == "early-en"


def test_the_first_matching_rule_by_order_wins_and_inactive_rules_are_skipped(
    special: Queue, make_loan: Callable[..., Loan], borrower: Borrower
) -> None:
    other = Queue.objects.create(code="other", name="Other", stage=Stage.MID)
    RoutingRule.objects.create(order=1, queue=other, stage=Stage.MID, active=False)
    RoutingRule.objects.create(order=2, queue=special, stage=Stage.MID)
    RoutingRule.objects.create(order=3, queue=other, stage=Stage.MID)
    assert route_one(make_loan, borrower, overdue="100.00") == "special"


# -- closing and reopening -------------------------------------------------------------------


def test_the_case_closes_when_the_loan_is_cured(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 4))
    pay(loan, date(2026, 3, 5), "1092.44")
    nightly.close_days(as_of=date(2026, 3, 5))
    case = Case.objects.get(borrower=borrower)
    assert (case.status, case.closed_on, case.close_reason) == ("closed", date(2026, 3, 5), "cured")
    assert AuditLog.objects.filter(action="case.close", entity_id=str(case.pk)).count() == 1


def test_the_case_stays_open_while_another_loan_is_past_due(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    first, second = make_loan(), make_loan(principal="3000.00")
    set_overdue(first, dpd=10, bucket="M1", overdue="100.00")
    set_overdue(second, dpd=10, bucket="M1", overdue="100.00")
    cases.cases_refresh(date(2026, 3, 10))
    Loan.objects.filter(pk=first.pk).update(dpd=0, bucket="M0", overdue_amount=D("0.00"))
    cases.cases_refresh(date(2026, 3, 11))
    assert open_case(borrower).overdue_amount == D("100.00")


def test_a_paid_off_loan_closes_the_case_as_paid_off(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    loan = make_loan()
    set_overdue(loan, dpd=10, bucket="M1", overdue="100.00")
    cases.cases_refresh(date(2026, 3, 10))
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.PAID_OFF, dpd=0, overdue_amount=D("0.00"))
    counts = cases.cases_refresh(date(2026, 3, 11))
    case = Case.objects.get(borrower=borrower)
    assert (case.status, case.close_reason, counts["cases_closed"]) == ("closed", "paid_off", 1)


def test_a_later_delinquency_opens_a_new_case(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 4))
    pay(loan, date(2026, 3, 5), "1092.44")
    # The second installment falls due on 2026-03-31, its grace ends on 2026-04-03.
    nightly.close_days(as_of=date(2026, 4, 4))
    first, second = Case.objects.filter(borrower=borrower).order_by("id")
    assert (first.status, first.closed_on) == ("closed", date(2026, 3, 5))
    assert (second.status, second.opened_on, second.max_dpd) == ("open", date(2026, 4, 4), 4)


def test_refreshing_a_day_twice_changes_nothing(make_loan: Callable[..., Loan], borrower: Borrower) -> None:
    set_overdue(make_loan(), dpd=45, bucket="M2", overdue="1000.00")
    cases.cases_refresh(date(2026, 9, 1))
    again = cases.cases_refresh(date(2026, 9, 1))
    assert (again["cases_opened"], again["cases_updated"], again["cases_routed"]) == (0, 0, 0)
    assert Case.objects.count() == 1


def test_chunks_split_the_borrowers(
    settings: pytest.FixtureRequest, make_loan: Callable[..., Loan], product: Product
) -> None:
    settings.CLOSE_DAY_CHUNK_LOANS = 1
    other = services.borrower_register(name="李四", national_id="110101199001015678", phones=[])
    line = services.credit_line_open(borrower=other, limit=D("10000.00"))
    theirs = services.loan_originate(
        credit_line=line,
        product=product,
        principal=D("1000.00"),
        term=3,
        method="equal_principal",
        disbursed_on=date(2026, 1, 31),
    )
    set_overdue(make_loan(), dpd=10, bucket="M1", overdue="100.00")
    set_overdue(theirs, dpd=10, bucket="M1", overdue="100.00")
    assert len(cases.borrower_chunks(date(2026, 3, 10))) == 2
    assert cases.cases_refresh(date(2026, 3, 10))["cases_opened"] == 2
