"""fill_dashboards: closed days rebuilt as the night would, expected loss and vintages for the last one only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from riskdesk.core.models import ClosedDay
from riskdesk.dashboards.models import ComplianceDay, ExpectedLossDay, VintagePoint
from riskdesk.lending.models import Loan

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed() -> None:
    for day in (20, 21, 22):
        ClosedDay.objects.create(business_date=date(2026, 11, day))


def test_past_days_get_their_dated_tables_and_the_last_one_everything(
    closed: None, make_loan: Callable[..., Loan]
) -> None:
    Loan.objects.filter(pk=make_loan().pk).update(dpd=40, bucket="M2", outstanding_principal=Decimal("100.00"))
    call_command("fill_dashboards", "--from", "2026-11-20", verbosity=0)
    assert sorted(set(ComplianceDay.objects.values_list("business_date", flat=True))) == [
        date(2026, 11, 20),
        date(2026, 11, 21),
        date(2026, 11, 22),
    ]
    assert set(ExpectedLossDay.objects.values_list("business_date", flat=True)) == {date(2026, 11, 22)}
    assert VintagePoint.objects.exists()


def test_a_rerun_changes_nothing(closed: None, make_loan: Callable[..., Loan]) -> None:
    make_loan()
    call_command("fill_dashboards", verbosity=0)
    first = list(ExpectedLossDay.objects.values_list("business_date", "stage", "loans", "ead", "ecl"))
    call_command("fill_dashboards", verbosity=0)
    assert list(ExpectedLossDay.objects.values_list("business_date", "stage", "loans", "ead", "ecl")) == first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "2026-11-23"], "--to 2026-11-23 is not closed; the last closed day is 2026-11-22."),
        (["--from", "2026-11-22", "--to", "2026-11-21"], "--from 2026-11-22 is after --to 2026-11-21."),
    ],
)
def test_bad_ranges_are_refused(closed: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        call_command("fill_dashboards", *args)


def test_nothing_closed_is_refused() -> None:
    with pytest.raises(CommandError, match="No business day is closed yet"):
        call_command("fill_dashboards")
