"""The book's figures worked out again from the raw tables, in plain Python, for reconciliation.

Nothing here reads what close of day keeps on the loan (dpd, bucket, outstanding principal)
or any aggregate: a loan's state on a day comes from its installments (due dates, amounts
due, arrears tolerance) and the allocations of its posted payments value-dated by that day.
Allocations are final: the engine applies payments in value-date order, so a later payment
never changes where an earlier one went.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from riskdesk.lending.models import Allocation, Bucket, Installment, Loan, Payment

CENT = Decimal("0.01")
PD_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Due:
    seq: int
    due_date: date
    amount: Decimal  # principal and interest due
    tolerance: Decimal


class LoanFacts:
    """One loan's schedule and money received, to ask its state on any day."""

    def __init__(self, loan: Loan) -> None:
        self.loan = loan
        self.origination_month = loan.disbursed_on.replace(day=1)
        self.dues = [
            Due(i.seq, i.due_date, i.principal_due + i.interest_due, i.arrears_tolerance)
            for i in Installment.objects.filter(loan=loan, superseded_on__isnull=True).order_by("seq")
        ]
        posted = Payment.objects.filter(loan=loan, status=Payment.Status.POSTED)
        value_dates = dict(posted.values_list("id", "value_date"))
        self.allocations = [
            (value_dates[a.payment_id], a.seq, a.principal, a.interest)
            for a in Allocation.objects.filter(payment_id__in=value_dates)
        ]

    def outstanding(self, day: date) -> Decimal:
        if self.loan.disbursed_on > day:
            return Decimal("0.00")
        return self.loan.principal - sum((p for on, _, p, _ in self.allocations if on <= day), Decimal("0.00"))

    def dpd(self, day: date) -> int:
        """Days past due at the close of `day`: from the oldest installment due before it and unpaid."""
        paid: dict[int, Decimal] = defaultdict(Decimal)
        for on, seq, principal, interest in self.allocations:
            if on <= day:
                paid[seq] += principal + interest
        for due in self.dues:
            if due.due_date < day and due.amount - paid[due.seq] > due.tolerance:
                return (day - due.due_date).days
        return 0

    def first_day_over(self, days: int, through: date) -> date | None:
        day = self.loan.disbursed_on
        while day <= through:
            if self.dpd(day) > days:
                return day
            day += timedelta(days=1)
        return None


def book_facts() -> list[LoanFacts]:
    return [LoanFacts(loan) for loan in Loan.objects.order_by("id")]


def bucket_of(dpd: int) -> str:
    for code, lo, hi in Bucket.objects.order_by("min_dpd").values_list("code", "min_dpd", "max_dpd"):
        if dpd >= lo and (hi is None or dpd <= hi):
            return code
    raise AssertionError(dpd)


def is_open(facts: LoanFacts, day: date) -> bool:
    return facts.loan.disbursed_on <= day and facts.outstanding(day) > 0


def portfolio(book: list[LoanFacts], day: date) -> dict[str, Decimal | int]:
    """Headline figures of the book on `day`: outstanding principal and DPD1+/30+/90+ balances and counts."""
    figures: dict[str, Decimal | int] = {"loans": 0, "outstanding_principal": Decimal("0.00")}
    for name in ("dpd1", "dpd30", "dpd90"):
        figures[f"{name}_loans"], figures[f"{name}_principal"] = 0, Decimal("0.00")
    for facts in book:
        if not is_open(facts, day):
            continue
        balance, dpd = facts.outstanding(day), facts.dpd(day)
        figures["loans"] += 1
        figures["outstanding_principal"] += balance
        # DPD1+ is more than 0 days past due, DPD30+ more than 30, DPD90+ more than 90.
        for name, over in (("dpd1", 0), ("dpd30", 30), ("dpd90", 90)):
            if dpd > over:
                figures[f"{name}_loans"] += 1
                figures[f"{name}_principal"] += balance
    return figures


def transitions(book: list[LoanFacts], earlier: date, later: date) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """(from bucket, to bucket) -> (loans, balance at the earlier month end) between two month ends."""
    cells: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal("0.00")])
    for facts in book:
        if not is_open(facts, earlier):
            continue
        to = bucket_of(facts.dpd(later)) if facts.outstanding(later) > 0 else facts.loan.status
        cell = cells[(bucket_of(facts.dpd(earlier)), to)]
        cell[0] += 1
        cell[1] += facts.outstanding(earlier)
    return {key: (n, balance) for key, (n, balance) in cells.items()}


def roll_rate_pd(book: list[LoanFacts], month_ends: list[date]) -> tuple[dict[str, Decimal], Decimal]:
    """Per bucket: share of loans in it at an earlier month end in a worse bucket (or written off) at the next;
    and the same share pooled over the buckets up to 90 days past due, for a bucket never seen."""
    order = list(Bucket.objects.order_by("min_dpd").values_list("code", flat=True))
    early = set(Bucket.objects.filter(min_dpd__lte=90).values_list("code", flat=True))
    seen: dict[str, int] = defaultdict(int)
    worse: dict[str, int] = defaultdict(int)
    for earlier, later in zip(month_ends, month_ends[1:], strict=False):
        for (from_bucket, to), (n, _) in transitions(book, earlier, later).items():
            seen[from_bucket] += n
            if to == "written_off" or (to in order and order.index(to) > order.index(from_bucket)):
                worse[from_bucket] += n
    pooled = Decimal(sum(worse[b] for b in early)) / Decimal(sum(seen[b] for b in early))
    rates = {b: (Decimal(worse[b]) / Decimal(n)).quantize(PD_PLACES, ROUND_HALF_UP) for b, n in seen.items() if n}
    return rates, pooled.quantize(PD_PLACES, ROUND_HALF_UP)


def ecl_by_stage(
    book: list[LoanFacts], day: date, pds: tuple[dict[str, Decimal], Decimal], lgd: Decimal
) -> dict[int, dict]:
    """Stage -> loans, EAD and ECL on `day` for an unscored book: ECL rounded per product, term,
    origination month, stage and PD source, as the page's rows are."""
    groups: dict[tuple, list] = defaultdict(lambda: [0, Decimal("0.00"), Decimal("0")])
    for facts in book:
        if not is_open(facts, day):
            continue
        dpd, ead = facts.dpd(day), facts.outstanding(day)
        stage = 3 if dpd > 90 else 2 if dpd > 30 else 1
        pd = Decimal(1) if stage == 3 else pds[0].get(bucket_of(dpd), pds[1])
        loan = facts.loan
        group = groups[(loan.product_id, loan.term, facts.origination_month, stage)]
        group[0] += 1
        group[1] += ead
        group[2] += pd * ead
    stages: dict[int, dict] = defaultdict(lambda: {"loans": 0, "ead": Decimal("0.00"), "ecl": Decimal("0.00")})
    for (_, _, _, stage), (n, ead, pd_ead) in groups.items():
        stages[stage]["loans"] += n
        stages[stage]["ead"] += ead
        stages[stage]["ecl"] += (lgd * pd_ead).quantize(CENT, ROUND_HALF_UP)
    return dict(stages)


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def vintages(book: list[LoanFacts], through: date) -> dict[tuple, tuple[int, Decimal, int, Decimal]]:
    """(product, term, origination month, months on book) -> ever 30+ loans and principal, ever 90+ likewise."""
    points: dict[tuple, list] = {}
    for facts in book:
        loan = facts.loan
        firsts = [facts.first_day_over(days, through) for days in (30, 90)]
        for months_on_book in range(months_between(facts.origination_month, through) + 1):
            point = points.setdefault(
                (loan.product_id, loan.term, facts.origination_month, months_on_book),
                [0, Decimal("0.00"), 0, Decimal("0.00")],
            )
            for column, first in ((0, firsts[0]), (2, firsts[1])):
                if first and months_between(facts.origination_month, first) <= months_on_book:
                    point[column] += 1
                    point[column + 1] += loan.principal
    return {key: tuple(value) for key, value in points.items()}
