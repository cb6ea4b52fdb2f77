"""The dashboards' figures for the seeded book equal the book worked out again from its raw tables.

`tests/dashboards/independent.py` recomputes each loan's state from installments and the
allocations of posted payments; the aggregates close of day wrote are summed over every
product, term and origination month and compared to the cent, and so are the headline
figures of each book page as the risk officer opens it (default filters: the 90 days to
the last closed day).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db.models import Sum
from django.urls import reverse

from riskdesk.dashboards.aggregates import roll_rate_pds
from riskdesk.dashboards.models import ExpectedLossDay, RollRateMonth, VintagePoint
from riskdesk.lending.models import PortfolioSnapshot
from tests.conftest import client_for
from tests.dashboards import independent
from tests.dashboards.conftest import LAST_CLOSED, SeededBook

pytestmark = pytest.mark.django_db

MONTH_ENDS = [date(2026, 7, 31), date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31)]
HEADLINE = (
    "loans",
    "outstanding_principal",
    "dpd1_loans",
    "dpd1_principal",
    "dpd30_loans",
    "dpd30_principal",
    "dpd90_loans",
    "dpd90_principal",
)


@pytest.fixture(scope="module")
def book(seeded_book: SeededBook, django_db_blocker: pytest.FixtureRequest) -> list[independent.LoanFacts]:
    with django_db_blocker.unblock():
        return independent.book_facts()


def test_the_seeded_book_has_every_kind_of_loan(book: list[independent.LoanFacts]) -> None:
    dpds = sorted(facts.dpd(LAST_CLOSED) for facts in book if independent.is_open(facts, LAST_CLOSED))
    assert dpds[0] == 0 and any(0 < d <= 30 for d in dpds) and any(30 < d <= 90 for d in dpds) and dpds[-1] > 90
    assert sum(1 for facts in book if not independent.is_open(facts, LAST_CLOSED)) >= 2


@pytest.mark.parametrize("day", [LAST_CLOSED, date(2026, 10, 31), date(2026, 9, 15)])
def test_portfolio_outstanding_and_dpd_balances_equal_the_loan_book(
    book: list[independent.LoanFacts], day: date
) -> None:
    snapshot = PortfolioSnapshot.objects.filter(business_date=day).aggregate(*(Sum(f) for f in HEADLINE))
    assert {f: snapshot[f"{f}__sum"] for f in HEADLINE} == independent.portfolio(book, day)


def test_the_seeded_book_reads_to_the_cent(book: list[independent.LoanFacts]) -> None:
    # The figures the reconciliation holds the pages to, written out once.
    figures = independent.portfolio(book, LAST_CLOSED)
    assert figures["outstanding_principal"] > figures["dpd30_principal"] > figures["dpd90_principal"] > 0


@pytest.mark.parametrize("later", MONTH_ENDS[1:] + [None])
def test_roll_rate_matrix_equals_transitions_between_month_ends(
    book: list[independent.LoanFacts], later: date | None
) -> None:
    if later is None:
        # No month end closes after October in the seeded book: nothing for November yet.
        assert not RollRateMonth.objects.filter(month_end__gt=date(2026, 10, 31)).exists()
        return
    earlier = MONTH_ENDS[MONTH_ENDS.index(later) - 1]
    rows = (
        RollRateMonth.objects.filter(month_end=later)
        .values_list("from_bucket", "to_bucket")
        .annotate(n=Sum("loans"), balance=Sum("balance"))
    )
    assert {(f, t): (n, balance) for f, t, n, balance in rows} == independent.transitions(book, earlier, later)


def test_a_roll_rate_cell_by_hand(book: list[independent.LoanFacts]) -> None:
    # M1 at September's end that rolled to M2 at October's, written out from the loans.
    rows = RollRateMonth.objects.filter(month_end=date(2026, 10, 31), from_bucket="M1", to_bucket="M2")
    expected = independent.transitions(book, date(2026, 9, 30), date(2026, 10, 31))[("M1", "M2")]
    assert (rows.aggregate(n=Sum("loans"))["n"], rows.aggregate(b=Sum("balance"))["b"]) == expected
    assert expected[0] >= 1


def test_vintage_points_equal_the_first_day_each_loan_was_past_30_and_90(
    book: list[independent.LoanFacts],
) -> None:
    stored = {
        (p.product_id, p.term, p.origination_month, p.months_on_book): (
            p.ever30_loans,
            p.ever30_principal,
            p.ever90_loans,
            p.ever90_principal,
        )
        for p in VintagePoint.objects.all()
    }
    expected = independent.vintages(book, LAST_CLOSED)
    assert stored == expected
    assert any(point[2] for point in expected.values())


def test_roll_rate_pds_pool_the_last_three_months(book: list[independent.LoanFacts]) -> None:
    assert roll_rate_pds(LAST_CLOSED) == independent.roll_rate_pd(book, MONTH_ENDS)


def test_expected_loss_by_stage_equals_the_book(book: list[independent.LoanFacts]) -> None:
    rows = ExpectedLossDay.objects.filter(business_date=LAST_CLOSED)
    stored = {
        stage: {"loans": n, "ead": ead, "ecl": ecl}
        for stage, n, ead, ecl in rows.values_list("stage").annotate(Sum("loans"), Sum("ead"), Sum("ecl"))
    }
    pds = independent.roll_rate_pd(book, MONTH_ENDS)
    assert stored == independent.ecl_by_stage(book, LAST_CLOSED, pds, Decimal("0.45"))
    assert set(stored) == {1, 2, 3}


# -- the pages, as the risk officer opens them ------------------------------------------


def page(users: dict[str, User], name: str, **params: str) -> Any:
    response = client_for(users["risk_officer"]).get(reverse(name), params)
    assert response.status_code == 200
    return response.context


@pytest.mark.parametrize("product", ["", "xiaodai"])
def test_the_portfolio_pages_headline_equals_the_loan_book(
    book: list[independent.LoanFacts], users: dict[str, User], product: str
) -> None:
    headline = page(users, "dashboard_portfolio", product=product)["headline"]
    facts = [f for f in book if not product or f.loan.product.code == product]
    assert {key: headline[key] for key in HEADLINE} == independent.portfolio(facts, LAST_CLOSED)


def test_the_roll_rate_pages_matrix_equals_october_from_september(
    book: list[independent.LoanFacts], users: dict[str, User]
) -> None:
    transitions = page(users, "dashboard_roll_rates")["transitions"]
    cells = transitions.groupby(["from_bucket", "to_bucket"])[["loans", "balance"]].sum()
    shown = {(f, t): (int(row["loans"]), row["balance"]) for (f, t), row in cells.iterrows()}
    assert shown == independent.transitions(book, date(2026, 9, 30), date(2026, 10, 31))


def test_the_vintage_pages_curves_equal_the_loan_book(
    book: list[independent.LoanFacts], users: dict[str, User]
) -> None:
    curves = page(users, "dashboard_vintages")["curves"]
    shown = {
        (row["origination_month"], row["months_on_book"]): (
            int(row["ever30_loans"]),
            row["ever30_principal"],
            int(row["ever90_loans"]),
            row["ever90_principal"],
        )
        for row in curves.to_dict("records")
    }
    expected: dict[tuple[date, int], list[Any]] = {}
    for (_, _, month, months_on_book), point in independent.vintages(book, LAST_CLOSED).items():
        sums = expected.setdefault((month, months_on_book), [0, Decimal("0.00"), 0, Decimal("0.00")])
        expected[(month, months_on_book)] = [a + b for a, b in zip(sums, point, strict=True)]
    assert shown == {key: tuple(value) for key, value in expected.items()}
    # A point by hand: July's loans past 90 days by November (months on book 4).
    assert shown[(date(2026, 7, 1), 4)][2] == 3


def test_the_expected_loss_pages_stages_equal_the_loan_book(
    book: list[independent.LoanFacts], users: dict[str, User]
) -> None:
    by_stage = page(users, "dashboard_expected_loss")["by_stage"]
    shown = {
        int(row["stage"]): {"loans": int(row["loans"]), "ead": row["ead"], "ecl": row["ecl"]}
        for row in by_stage.to_dict("records")
    }
    pds = independent.roll_rate_pd(book, MONTH_ENDS)
    assert shown == independent.ecl_by_stage(book, LAST_CLOSED, pds, Decimal("0.45"))
