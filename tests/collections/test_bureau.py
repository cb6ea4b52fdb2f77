"""The monthly bureau export: only past-grace accounts over the threshold with a prior notice; same bytes twice."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from riskdesk.collections.bureau import bureau_export_generate, bureau_reportable_accounts
from riskdesk.collections.models import BureauExport, Reminder, ReminderStep
from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog
from riskdesk.lending.models import BucketHistory, GracePolicy, Loan, LoanMonthSnapshot

pytestmark = pytest.mark.django_db

MONTH_END = date(2026, 10, 31)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def late_loan(make_loan: Callable[..., Loan]) -> Loan:
    """Installments due 2026-08-31, 09-30, 10-31 ...; the first (grace to 09-03) 61 days late at the month end."""
    return make_loan(principal="6000.00", term=6, disbursed_on=date(2026, 7, 31))


def snapshot(
    loan: Loan, *, dpd: int, overdue: str = "1234.56", bucket: str = "M3", month_end: date = MONTH_END
) -> LoanMonthSnapshot:
    return LoanMonthSnapshot.objects.create(
        month_end=month_end,
        loan=loan,
        dpd=dpd,
        bucket=bucket,
        outstanding_principal=Decimal("5000.00"),
        overdue_amount=Decimal(overdue),
        status="active",
    )


def notice_sent(loan: Loan, on: date) -> Reminder:
    installment = loan.installments.get(seq=1)
    return Reminder.objects.create(
        installment=installment,
        step=ReminderStep.objects.get(kind="bureau_notice"),
        loan=loan,
        borrower=loan.borrower,
        planned_for=on,
        status="sent",
        channel="letter",
        sent_at=datetime(on.year, on.month, on.day, 10, 0, tzinfo=SHANGHAI),
    )


def test_a_late_account_with_a_prior_notice_is_reported(late_loan: Loan) -> None:
    snapshot(late_loan, dpd=61)
    notice_sent(late_loan, date(2026, 10, 24))  # the 7 days of notice end on the month end

    assert bureau_reportable_accounts(MONTH_END) == [
        {
            "account": late_loan.pk,
            "national_id": "110101199001011234",
            "status": "M3",
            "dpd": 61,
            "overdue_amount": Decimal("1234.56"),
            "outstanding_principal": Decimal("5000.00"),
            "month_end": MONTH_END,
            "worst_status": "M3",
            "cured_on": None,
        }
    ]


def test_an_account_without_a_prior_notice_is_not_reported(late_loan: Loan) -> None:
    snapshot(late_loan, dpd=61)

    assert bureau_reportable_accounts(MONTH_END) == []


def test_a_notice_sent_less_than_the_notice_days_before_is_not_enough(late_loan: Loan) -> None:
    snapshot(late_loan, dpd=61)
    notice_sent(late_loan, date(2026, 10, 25))

    assert bureau_reportable_accounts(MONTH_END) == []


def test_a_notice_planned_but_not_sent_is_not_enough(late_loan: Loan) -> None:
    snapshot(late_loan, dpd=61)
    Reminder.objects.filter(pk=notice_sent(late_loan, date(2026, 10, 1)).pk).update(status="blocked", sent_at=None)

    assert bureau_reportable_accounts(MONTH_END) == []


def test_an_account_at_the_report_threshold_is_not_reported(late_loan: Loan) -> None:
    snapshot(late_loan, dpd=30)  # the default grace policy reports after 30 days
    notice_sent(late_loan, date(2026, 10, 1))

    assert bureau_reportable_accounts(MONTH_END) == []


def test_an_overdue_amount_within_the_tolerance_is_not_reported(late_loan: Loan) -> None:
    snapshot(late_loan, dpd=61, overdue="1.00")
    notice_sent(late_loan, date(2026, 10, 1))

    assert bureau_reportable_accounts(MONTH_END) == []


def test_an_account_in_grace_is_not_reported(make_loan: Callable[..., Loan]) -> None:
    GracePolicy.objects.create(product=make_loan().product, effective_from=date(2026, 1, 1), bureau_report_after_days=0)
    loan = make_loan(disbursed_on=date(2026, 9, 29))  # first due 10-29, grace to 11-01
    snapshot(loan, dpd=2, bucket="M1")
    notice_sent(loan, date(2026, 10, 1))

    assert bureau_reportable_accounts(MONTH_END) == []


def test_the_export_file_is_exact(late_loan: Loan) -> None:
    snapshot(late_loan, dpd=61)
    notice_sent(late_loan, date(2026, 10, 20))

    export = bureau_export_generate(month_end=MONTH_END)

    assert export.content == (
        "account,national_id,status,dpd,overdue_amount,outstanding_principal,month_end,worst_status,cured_on\n"
        f"{late_loan.pk},110101199001011234,M3,61,1234.56,5000.00,2026-10-31,M3,\n"
    )
    assert export.sha256 == hashlib.sha256(export.content.encode()).hexdigest()
    assert export.accounts == 1


def test_regenerating_a_month_yields_the_same_bytes(late_loan: Loan) -> None:
    snapshot(late_loan, dpd=61)
    notice_sent(late_loan, date(2026, 10, 20))
    first = bureau_export_generate(month_end=MONTH_END)

    again = bureau_export_generate(month_end=MONTH_END)

    assert (again.pk, again.content, again.sha256) == (first.pk, first.content, first.sha256)
    assert BureauExport.objects.count() == 1
    assert AuditLog.objects.filter(action="bureau_export.generate").count() == 2


def test_a_day_that_is_not_a_month_end_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        bureau_export_generate(month_end=date(2026, 10, 30))

    assert refused.value.code == "not_month_end"


def test_a_month_without_its_snapshot_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        bureau_export_generate(month_end=MONTH_END)

    assert refused.value.code == "no_month_snapshot"


def test_the_command_writes_the_file(late_loan: Loan, tmp_path: object) -> None:
    snapshot(late_loan, dpd=61)
    notice_sent(late_loan, date(2026, 10, 20))
    target = f"{tmp_path}/bureau.csv"

    call_command("bureau_export", "--month-end", "2026-10-31", "--output", target)

    with open(target, encoding="utf-8", newline="") as written:
        assert written.read() == BureauExport.objects.get().content


# -- five years after the cure ------------------------------------------------------------------------
# The month end is 2026-10-31; five years before it is 2021-10-31.


def loan_of_2021(make_loan: Callable[..., Loan], settings: pytest.FixtureRequest) -> Loan:
    """A loan disbursed 2021-06-30, booked on its day (the desk books a loan at most three years back)."""
    settings.BUSINESS_DATE_OVERRIDE = "2021-07-01"
    loan = make_loan(principal="6000.00", term=6, disbursed_on=date(2021, 6, 30))
    settings.BUSINESS_DATE_OVERRIDE = "2026-11-23"
    return loan


@pytest.fixture
def reported_in_2021(make_loan: Callable[..., Loan], settings: pytest.FixtureRequest) -> Loan:
    """Reported at 2021-09-30: its installment due 2021-07-30 was 62 days late, the notice sent on 09-01."""
    loan = loan_of_2021(make_loan, settings)
    snapshot(loan, dpd=62, month_end=date(2021, 9, 30))
    notice_sent(loan, date(2021, 9, 1))
    assert [row["account"] for row in bureau_reportable_accounts(date(2021, 9, 30))] == [loan.pk]
    return loan


def cured(loan: Loan, on: date) -> BucketHistory:
    return BucketHistory.objects.create(loan=loan, on=on, from_bucket="M3", to_bucket="M0", dpd=0)


def test_an_account_cured_five_years_minus_a_day_before_the_month_end_is_still_reported(
    reported_in_2021: Loan,
) -> None:
    cured(reported_in_2021, date(2021, 11, 1))

    assert bureau_reportable_accounts(MONTH_END) == [
        {
            "account": reported_in_2021.pk,
            "national_id": "110101199001011234",
            "status": "cured",
            "dpd": 0,
            "overdue_amount": Decimal("0.00"),
            "outstanding_principal": Decimal("0.00"),
            "month_end": MONTH_END,
            "worst_status": "M3",
            "cured_on": date(2021, 11, 1),
        }
    ]


def test_an_account_cured_five_years_plus_a_day_before_the_month_end_leaves_the_export(
    reported_in_2021: Loan,
) -> None:
    cured(reported_in_2021, date(2021, 10, 30))

    assert bureau_reportable_accounts(MONTH_END) == []


def test_an_account_cured_exactly_five_years_before_the_month_end_has_left(reported_in_2021: Loan) -> None:
    cured(reported_in_2021, date(2021, 10, 31))

    assert bureau_reportable_accounts(MONTH_END) == []


def test_a_payoff_is_a_cure(reported_in_2021: Loan) -> None:
    Loan.objects.filter(pk=reported_in_2021.pk).update(status="paid_off", paid_off_on=date(2021, 10, 30))

    assert bureau_reportable_accounts(MONTH_END) == []
    assert [row["cured_on"] for row in bureau_reportable_accounts(date(2026, 9, 30))] == [date(2021, 10, 30)]


def test_a_cure_of_an_account_never_reported_adds_nothing(
    make_loan: Callable[..., Loan], settings: pytest.FixtureRequest
) -> None:
    loan = loan_of_2021(make_loan, settings)
    snapshot(loan, dpd=62, month_end=date(2021, 9, 30))  # no prior notice: never reported
    cured(loan, date(2022, 1, 1))

    assert bureau_reportable_accounts(MONTH_END) == []


def test_a_month_counts_towards_the_cure_that_followed_it(reported_in_2021: Loan) -> None:
    """Reported in 2021 and cured then; behind again briefly later (never reported) and cured in 2024."""
    cured(reported_in_2021, date(2021, 10, 15))
    BucketHistory.objects.create(loan=reported_in_2021, on=date(2024, 3, 1), from_bucket="M0", to_bucket="M1", dpd=1)
    cured(reported_in_2021, date(2024, 3, 5))

    assert bureau_reportable_accounts(MONTH_END) == []


def test_the_file_with_a_cured_account_is_exact_and_the_same_twice(late_loan: Loan, reported_in_2021: Loan) -> None:
    cured(reported_in_2021, date(2022, 2, 3))
    snapshot(late_loan, dpd=61)
    notice_sent(late_loan, date(2026, 10, 20))

    first = bureau_export_generate(month_end=MONTH_END)
    again = bureau_export_generate(month_end=MONTH_END)

    assert late_loan.pk < reported_in_2021.pk  # lines by account
    assert first.content == (
        "account,national_id,status,dpd,overdue_amount,outstanding_principal,month_end,worst_status,cured_on\n"
        f"{late_loan.pk},110101199001011234,M3,61,1234.56,5000.00,2026-10-31,M3,\n"
        f"{reported_in_2021.pk},110101199001011234,cured,0,0.00,0.00,2026-10-31,M3,2022-02-03\n"
    )
    assert (again.content, again.sha256, again.accounts) == (first.content, first.sha256, 2)
