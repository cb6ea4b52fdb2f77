"""Promises to pay: made inside their limits, decided kept or broken when their window ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from riskdesk import nightly
from riskdesk.collections import cases, promises
from riskdesk.collections.models import Case, Promise
from riskdesk.core import roles
from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog, JobRun
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, Loan

D = Decimal
pytestmark = pytest.mark.django_db

# make_loan's first installment (1089.91) falls due on 2026-02-28 and its grace ends on 2026-03-03;
# on 2026-03-04 the loan is 4 days past due with 1092.44 overdue (2.53 of penalty). The next
# installment, 1089.91 more, falls due on 2026-03-31.
MADE_ON = date(2026, 3, 5)
DUE_ON = date(2026, 3, 8)


@pytest.fixture
def case(make_loan: Callable[..., Loan], borrower: Borrower) -> Case:
    """The case close of day opens on 2026-03-04, from the loan's facts as step 1 leaves them."""
    loan = make_loan()
    Loan.objects.filter(pk=loan.pk).update(
        dpd=4, bucket="M1", overdue_amount=D("1092.44"), grace_end=date(2026, 3, 3), in_grace=False
    )
    cases.cases_refresh(date(2026, 3, 4))
    return Case.objects.get(borrower=borrower)


@pytest.fixture
def collector(users: dict[str, User]) -> User:
    return users[roles.COLLECTOR]


def on_business_day(settings: pytest.FixtureRequest, day: date) -> None:
    settings.BUSINESS_DATE_OVERRIDE = day.isoformat()


def promise(
    settings: pytest.FixtureRequest, case: Case, actor: User, amount: str = "500.00", **kwargs: object
) -> Promise:
    """A promise made on MADE_ON, due on DUE_ON with a day's tolerance unless told otherwise."""
    on_business_day(settings, kwargs.pop("made_on", MADE_ON))  # type: ignore[arg-type]
    made = promises.promise_create(
        case=case,
        amount=D(amount),
        due_on=kwargs.pop("due_on", DUE_ON),
        actor=actor,
        **kwargs,  # type: ignore[arg-type]
    )
    on_business_day(settings, date(2026, 11, 23))
    return made


def pay(loan: Loan, on: date, amount: str) -> None:
    services.payment_post(
        loan=loan,
        amount=D(amount),
        value_date=on,
        kind="regular",
        channel="app",
        idempotency_key=f"{loan.pk}-{on}-{amount}",
    )


def decided(made: Promise) -> tuple[str, Decimal, date | None]:
    made.refresh_from_db()
    return made.status, made.paid_amount, made.decided_on


# -- making a promise -----------------------------------------------------------------------


def test_a_promise_sets_the_cases_next_promise_date_and_is_audited(
    settings: pytest.FixtureRequest, case: Case, collector: User
) -> None:
    made = promise(settings, case, collector)
    case.refresh_from_db()
    assert (made.made_on, made.due_on, made.tolerance_days, made.status) == (MADE_ON, DUE_ON, 1, "pending")
    assert case.next_promise_on == DUE_ON
    row = AuditLog.objects.get(action="promise.create", entity_id=str(case.pk))
    assert (row.actor, row.after["promise"], row.after["amount"]) == (collector, made.pk, "500.00")


def test_a_promise_may_cover_the_overdue_amount_and_the_next_installment(
    settings: pytest.FixtureRequest, case: Case, collector: User
) -> None:
    # 1092.44 overdue + 1089.91 due on 2026-03-31.
    assert promise(settings, case, collector, amount="2182.35").amount == D("2182.35")


def test_a_promise_of_more_than_is_owed_by_then_is_refused(
    settings: pytest.FixtureRequest, case: Case, collector: User
) -> None:
    with pytest.raises(DomainError) as refused:
        promise(settings, case, collector, amount="2182.36")
    assert (refused.value.code, refused.value.field, refused.value.extra) == (
        "promise_amount_too_large",
        "amount",
        {"ceiling": "2182.35"},
    )


@pytest.mark.parametrize("amount", ["0.00", "-1.00", "10.001"])
def test_a_promise_amount_must_be_positive_money(
    settings: pytest.FixtureRequest, case: Case, collector: User, amount: str
) -> None:
    with pytest.raises(DomainError) as refused:
        promise(settings, case, collector, amount=amount)
    assert refused.value.code == "invalid_amount"


@pytest.mark.parametrize("due_on", [date(2026, 3, 4), date(2026, 4, 5)])
def test_a_promise_falls_due_from_today_to_thirty_days_on(
    settings: pytest.FixtureRequest, case: Case, collector: User, due_on: date
) -> None:
    with pytest.raises(DomainError) as refused:
        promise(settings, case, collector, due_on=due_on)
    assert (refused.value.code, refused.value.field) == ("promise_due_out_of_range", "due_on")


def test_a_promise_thirty_days_on_is_accepted(settings: pytest.FixtureRequest, case: Case, collector: User) -> None:
    assert promise(settings, case, collector, due_on=date(2026, 4, 4)).due_on == date(2026, 4, 4)


def test_a_closed_case_takes_no_promise(settings: pytest.FixtureRequest, case: Case, collector: User) -> None:
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    with pytest.raises(DomainError) as refused:
        promise(settings, case, collector)
    assert refused.value.code == "case_closed"


def test_a_promise_for_a_loan_outside_the_case_is_refused(
    settings: pytest.FixtureRequest, case: Case, collector: User, make_loan: Callable[..., Loan]
) -> None:
    other = make_loan(principal="1000.00")
    with pytest.raises(DomainError) as refused:
        promise(settings, case, collector, loan=other)
    assert refused.value.code == "loan_not_in_case"


# -- deciding ---------------------------------------------------------------------------------


def test_a_payment_on_the_last_day_of_tolerance_keeps_the_promise(
    settings: pytest.FixtureRequest, case: Case, collector: User
) -> None:
    made = promise(settings, case, collector)
    pay(case.loans.get(), date(2026, 3, 9), "500.00")
    assert promises.promises_decide(date(2026, 3, 9)) == {"promises_kept": 1, "promises_broken": 0}
    assert decided(made) == ("kept", D("500.00"), date(2026, 3, 9))


def test_a_payment_a_day_after_the_tolerance_does_not_keep_it(
    settings: pytest.FixtureRequest, case: Case, collector: User
) -> None:
    made = promise(settings, case, collector)
    pay(case.loans.get(), date(2026, 3, 10), "500.00")
    assert promises.promises_decide(date(2026, 3, 9)) == {"promises_kept": 0, "promises_broken": 1}
    assert decided(made) == ("broken", D("0.00"), date(2026, 3, 9))


def test_a_promise_is_not_decided_before_its_tolerance_ends(
    settings: pytest.FixtureRequest, case: Case, collector: User
) -> None:
    made = promise(settings, case, collector)
    assert promises.promises_decide(date(2026, 3, 8)) == {"promises_kept": 0, "promises_broken": 0}
    assert decided(made) == ("pending", D("0.00"), None)


def test_partial_payments_add_up_to_keep_it(settings: pytest.FixtureRequest, case: Case, collector: User) -> None:
    made = promise(settings, case, collector)
    loan = case.loans.get()
    pay(loan, date(2026, 3, 6), "200.00")
    pay(loan, date(2026, 3, 8), "300.00")
    promises.promises_decide(date(2026, 3, 9))
    assert decided(made) == ("kept", D("500.00"), date(2026, 3, 9))


def test_a_cent_short_breaks_it(settings: pytest.FixtureRequest, case: Case, collector: User) -> None:
    made = promise(settings, case, collector)
    pay(case.loans.get(), date(2026, 3, 7), "499.99")
    promises.promises_decide(date(2026, 3, 9))
    assert decided(made) == ("broken", D("499.99"), date(2026, 3, 9))


def test_payments_before_the_promise_was_made_do_not_count(
    settings: pytest.FixtureRequest, case: Case, collector: User
) -> None:
    pay(case.loans.get(), date(2026, 3, 5), "500.00")
    made = promise(settings, case, collector, made_on=date(2026, 3, 6))
    promises.promises_decide(date(2026, 3, 9))
    assert decided(made) == ("broken", D("0.00"), date(2026, 3, 9))


def test_a_reversed_payment_does_not_count(settings: pytest.FixtureRequest, case: Case, collector: User) -> None:
    made = promise(settings, case, collector)
    pay(case.loans.get(), date(2026, 3, 7), "500.00")
    services.payment_reverse(payment=case.loans.get().payments.get(), reason="bounced")
    promises.promises_decide(date(2026, 3, 9))
    assert decided(made)[0] == "broken"


def test_a_broken_promise_raises_the_cases_priority_and_is_audited(
    settings: pytest.FixtureRequest, case: Case, collector: User
) -> None:
    made = promise(settings, case, collector)
    expected_loss = case.expected_loss
    promises.promises_decide(date(2026, 3, 9))
    case.refresh_from_db()
    assert case.priority == expected_loss + D("500.00")
    assert case.next_promise_on is None
    row = AuditLog.objects.get(action="promise.broken", entity_id=str(case.pk))
    assert (row.after["promise"], row.reason) == (made.pk, "paid 0.00 of 500.00 by 2026-03-09")


def test_a_kept_promise_leaves_the_priority_at_expected_loss(
    settings: pytest.FixtureRequest, case: Case, collector: User
) -> None:
    promise(settings, case, collector)
    pay(case.loans.get(), date(2026, 3, 9), "500.00")
    promises.promises_decide(date(2026, 3, 9))
    case.refresh_from_db()
    assert case.priority == case.expected_loss


def test_close_of_day_decides_promises_in_its_finish(
    settings: pytest.FixtureRequest, make_loan: Callable[..., Loan], borrower: Borrower, collector: User
) -> None:
    loan = make_loan()
    nightly.close_days(as_of=date(2026, 3, 4))
    made = promise(settings, Case.objects.get(borrower=borrower), collector)
    pay(loan, date(2026, 3, 9), "500.00")
    nightly.close_days(as_of=date(2026, 3, 9))
    run = JobRun.objects.get(step="collections.cases", business_date=date(2026, 3, 9))
    assert (run.rows["promises_kept"], run.rows["promises_broken"]) == (1, 0)
    assert decided(made) == ("kept", D("500.00"), date(2026, 3, 9))
