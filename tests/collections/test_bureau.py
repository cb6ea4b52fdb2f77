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
from riskdesk.lending.models import GracePolicy, Loan, LoanMonthSnapshot

pytestmark = pytest.mark.django_db

MONTH_END = date(2026, 10, 31)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def late_loan(make_loan: Callable[..., Loan]) -> Loan:
    """Installments due 2026-08-31, 09-30, 10-31 ...; the first (grace to 09-03) 61 days late at the month end."""
    return make_loan(principal="6000.00", term=6, disbursed_on=date(2026, 7, 31))


def snapshot(loan: Loan, *, dpd: int, overdue: str = "1234.56", bucket: str = "M3") -> LoanMonthSnapshot:
    return LoanMonthSnapshot.objects.create(
        month_end=MONTH_END,
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
        "account,national_id,status,dpd,overdue_amount,outstanding_principal,month_end\n"
        f"{late_loan.pk},110101199001011234,M3,61,1234.56,5000.00,2026-10-31\n"
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
