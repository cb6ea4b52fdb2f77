"""The grace-policy preview: what a draft policy version or incident window would change.

An admin drafts a grace policy version or an incident window and asks, before saving
it, what it would do to the book. The answer compares, per product and in total, the
policy in force with the draft on the last closed business day D:

* loans in grace and loans overdue (active, days past due > 0, before / after grace end);
* accounts reportable to the bureau: overdue (past grace) more than the policy's
  `bureau_report_after_days` and owing more than its arrears tolerance (the rule of
  collections/bureau.py, without the prior notice, which no grace policy changes);
* cases that would open: borrowers with an active loan past its grace end by more than
  the policy's `case_open_after_days` (the rule of collections/cases.py);
  both rules are written once in lending/grace_rules.py, which collections applies too;
* penalty income: penalty interest charged (net of waivers, paid or not) on the
  installments due in the replayed window, the only ones the draft governs.

How the draft replays the past. The window is the last 90 closed days, D - 89 to D. A
policy draft governs every installment of its product(s) due from D - 89 on, as if it had
been in force since then (the versions of its scope it would supersede drop out); an
incident window draft keeps its own dates, and the window starts at the earlier of
D - 89 and its start. Both columns come from one code path: every loan the draft can
affect (an installment due in the window where the two policies give different terms,
not settled by the earlier of its two grace ends) is replayed by the engine twice, once
under each grace book; every other loan keeps what close of day stored, which is what
either replay would give.
So the "in force" column must equal the stored book (tests hold it to that), and the
difference is the draft's alone.

Nothing is written: the preview reads the book and replays loans in memory.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import DateField, ExpressionWrapper, F, Prefetch, Q, Sum

from riskdesk.core.dates import business_today
from riskdesk.core.errors import Conflict, DomainError
from riskdesk.core.models import JobRun
from riskdesk.core.money import ZERO
from riskdesk.lending import engine
from riskdesk.lending.grace_rules import bureau_over_threshold, case_due
from riskdesk.lending.models import (
    GracePolicy,
    IncidentWindow,
    Installment,
    Loan,
    LoanArrangement,
    Payment,
    Product,
)
from riskdesk.lending.schedule import ScheduleLine
from riskdesk.lending.selectors import (
    DAY_STATE_STEP,
    GraceBook,
    buckets,
    installments_for,
    posted_payment_events,
    schedule_lines,
    state_date,
)
from riskdesk.lending.services import grace_policy_check, incident_window_check, refuse_closed_past

WINDOW_DAYS = 90
# Loans replayed per query of their payments and arrangements.
CHUNK = 2000

# A draft's window dates outside these bounds are refused, naming the field: an earlier
# start would replay decades of nothing, a later one is a typo.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_AHEAD_DAYS = 365

POLICY = "policy"
INCIDENT_WINDOW = "incident_window"


@dataclass(frozen=True)
class PolicyDraft:
    """A grace policy version not yet saved: the fields of grace_policy_create."""

    product: Product | None
    effective_from: date
    grace_days: int = 3
    penalty_start: str = GracePolicy.PenaltyStart.DUE_DATE
    arrears_tolerance: Decimal = Decimal("1.00")
    bureau_report_after_days: int = 30
    cooling_off_days: int = 30
    case_open_after_days: int = 0
    note: str = ""

    kind = POLICY

    def rules(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in GracePolicy.RULES}

    def as_policy(self, governs_from: date) -> GracePolicy:
        """An unsaved version with the draft's rules, in force from `governs_from`."""
        return GracePolicy(product=self.product, effective_from=governs_from, **self.rules())


@dataclass(frozen=True)
class WindowDraft:
    """An incident window not yet declared: the fields of incident_window_create."""

    product: Product | None
    start: date
    end: date
    extra_grace_days: int
    reason: str = ""

    kind = INCIDENT_WINDOW

    def as_window(self) -> IncidentWindow:
        return IncidentWindow(
            product=self.product, start=self.start, end=self.end, extra_grace_days=self.extra_grace_days
        )


Draft = PolicyDraft | WindowDraft


@dataclass(frozen=True)
class Measures:
    """One column of the comparison for one product (or the total)."""

    loans_in_grace: int = 0
    loans_overdue: int = 0
    bureau_reportable: int = 0
    cases_to_open: int = 0
    penalty_income: Decimal = ZERO

    def minus(self, other: Measures) -> Measures:
        return Measures(
            *(getattr(self, f.name) - getattr(other, f.name) for f in dataclasses.fields(Measures))  # type: ignore[arg-type]
        )


MEASURES = tuple(f.name for f in dataclasses.fields(Measures))


@dataclass(frozen=True)
class PreviewRow:
    """A product's (or, with product None, the whole book's) measures under both policies."""

    product: Product | None
    in_force: Measures
    draft: Measures

    @property
    def difference(self) -> Measures:
        return self.draft.minus(self.in_force)

    @property
    def changed(self) -> bool:
        return self.in_force != self.draft


@dataclass(frozen=True)
class GracePreview:
    draft: Draft
    as_of: date
    window_start: date
    loans_replayed: int
    loans_changed: int
    products: list[PreviewRow]
    total: PreviewRow


class _Facts(NamedTuple):
    """What the measures read of one active loan with days past due, on D."""

    product_id: int
    borrower_id: int
    dpd: int
    in_grace: bool
    grace_end: date | None
    overdue_amount: Decimal


@dataclass
class _Side:
    """One column's book: each delinquent loan's facts and each loan's penalty in the window."""

    facts: dict[int, _Facts]
    penalties: dict[int, tuple[int, Decimal]]


def grace_policy_simulate(*, draft: Draft, as_of: date | None = None) -> GracePreview:
    """Compare the policy in force with `draft` on the book of the last closed day (see the module docstring).

    `as_of` is that day (default: the last closed business day); the stored book is as
    of it, so another date is refused.
    """
    closed = state_date()
    if closed is None:
        raise DomainError("no_closed_day", "No business day is closed yet: there is no book to compare on.")
    as_of = as_of or closed
    if as_of != closed:
        raise DomainError("as_of_not_closed", f"The book is as of the last closed day, {closed}.", field="as_of")
    if JobRun.objects.filter(step=DAY_STATE_STEP, status=JobRun.Status.RUNNING).exists():
        # Half the book would be a day ahead of the other half.
        raise Conflict("close_of_day_running", "Close of day is running: preview again once it is done.")
    _check(draft)
    window_start = as_of - timedelta(days=WINDOW_DAYS - 1)
    if isinstance(draft, WindowDraft):
        window_start = min(window_start, draft.start)
    products = list(Product.objects.order_by("code"))
    in_force_books = {p.pk: GraceBook(p.pk) for p in products}
    draft_books = {pk: _drafted(book, draft, window_start) for pk, book in in_force_books.items()}
    affected = _affected_loans(in_force_books, draft_books, window_start, _last_due(draft, as_of), as_of)
    stored = _stored_side(as_of, window_start)
    in_force, drafted = _without(stored, affected), _without(stored, affected)
    bucket_list = buckets()
    for loan in _loans(affected):
        lines = schedule_lines(loan)
        for side, books in ((in_force, in_force_books), (drafted, draft_books)):
            result = _replay(loan, lines, books[loan.product_id], bucket_list, as_of)
            _add(side, loan, result, as_of, window_start)
    changed = sum(
        1
        for loan_id in affected
        if in_force.facts.get(loan_id) != drafted.facts.get(loan_id)
        or in_force.penalties.get(loan_id) != drafted.penalties.get(loan_id)
    )
    before = _measure(in_force, in_force_books, as_of)
    after = _measure(drafted, draft_books, as_of)
    rows = [PreviewRow(p, before.get(p.pk, Measures()), after.get(p.pk, Measures())) for p in products]
    total = PreviewRow(None, before[None], after[None])
    return GracePreview(draft, as_of, window_start, len(affected), changed, rows, total)


def date_bounds() -> tuple[date, date]:
    """The earliest and latest date a draft incident window may name (the API and the page check it)."""
    return EARLIEST_DATE, business_today() + timedelta(days=LATEST_AHEAD_DAYS)


def _check(draft: Draft) -> None:
    """The checks saving the draft would make, bar the clashes with saved rows."""
    if isinstance(draft, PolicyDraft):
        grace_policy_check(draft.rules())
        refuse_closed_past(draft.effective_from, "effective_from", "A policy's effective date")
    else:
        earliest, latest = date_bounds()
        for field in ("start", "end"):
            if not earliest <= getattr(draft, field) <= latest:
                raise DomainError(
                    "invalid_window_date", f"A window's dates must lie between {earliest} and {latest}.", field=field
                )
        incident_window_check(start=draft.start, end=draft.end, extra_grace_days=draft.extra_grace_days)


def _drafted(book: GraceBook, draft: Draft, window_start: date) -> GraceBook:
    if isinstance(draft, PolicyDraft):
        return book.with_policy(draft.as_policy(window_start))
    return book.with_window(draft.as_window())


def _last_due(draft: Draft, as_of: date) -> date:
    """The last due date whose grace can matter on `as_of`: one due later is not past due yet."""
    return min(draft.end, as_of) if isinstance(draft, WindowDraft) else as_of


def _affected_loans(
    in_force: dict[int, GraceBook], drafted: dict[int, GraceBook], first: date, last: date, as_of: date
) -> list[int]:
    """Loans the draft can change: an installment due on a date whose grace terms it changes, not
    settled by the earlier of its two grace ends.

    One settled by then is charged no penalty and owes nothing on `last` under either book,
    so every payment of its loan allocates alike: such a loan replays the same under both.
    """
    # Only the due dates the book holds, not every calendar day from `first` (a window may start years back).
    dues_held = (
        Installment.objects.filter(due_date__range=(first, last), loan__product_id__in=list(in_force))
        .exclude(loan__status=Loan.Status.WRITTEN_OFF)
        .order_by()
        .values_list("loan__product_id", "due_date")
        .distinct()
    )
    # Due dates grouped by how many days after them the earlier grace end falls.
    by_offset: dict[tuple[int, int], list[date]] = defaultdict(list)
    for product_id, due in sorted(dues_held):
        before, after = in_force[product_id].engine_terms(due), drafted[product_id].engine_terms(due)
        if before != after:
            by_offset[product_id, (min(before.grace_end, after.grace_end) - due).days].append(due)
    if not by_offset:
        return []
    changed = Q()
    for (product_id, offset), dues in by_offset.items():
        settled_late = Q(pi_settled_on__gt=ExpressionWrapper(F("due_date") + timedelta(days=offset), DateField()))
        # One due on `as_of` is past due only for a loan with money value-dated after it.
        past_due = Q(due_date__lt=as_of) | Q(loan__last_value_date__gt=as_of)
        changed |= (
            Q(loan__product_id=product_id, due_date__in=dues)
            & past_due
            & (Q(pi_settled_on__isnull=True) | settled_late)
        )
    installments = Installment.objects.filter(changed).exclude(loan__status=Loan.Status.WRITTEN_OFF)
    # order_by(): the model's ordering would join DISTINCT and repeat a loan per installment.
    return sorted(installments.order_by().values_list("loan_id", flat=True).distinct())


def _stored_side(as_of: date, window_start: date) -> _Side:
    """The book as close of day stored it for `as_of`."""
    facts = {
        loan_id: _Facts(*row)
        for loan_id, *row in Loan.objects.filter(status=Loan.Status.ACTIVE, dpd__gt=0).values_list(
            "id", "product_id", "borrower_id", "dpd", "in_grace", "grace_end", "overdue_amount"
        )
    }
    penalties = {
        row["loan_id"]: (row["loan__product_id"], row["penalty"])
        for row in Installment.objects.filter(due_date__range=(window_start, as_of), penalty_accrued__gt=0)
        .exclude(loan__status=Loan.Status.WRITTEN_OFF)
        .order_by()
        .values("loan_id", "loan__product_id")
        .annotate(penalty=Sum("penalty_accrued"))
    }
    return _Side(facts, penalties)


def _without(side: _Side, loan_ids: Iterable[int]) -> _Side:
    drop = set(loan_ids)
    return _Side(
        {k: v for k, v in side.facts.items() if k not in drop},
        {k: v for k, v in side.penalties.items() if k not in drop},
    )


def _loans(loan_ids: list[int]) -> Iterator[Loan]:
    """The loans with their posted payments and arrangements, a chunk per query."""
    payments = Payment.objects.filter(status=Payment.Status.POSTED).order_by("value_date", "id")
    arrangements = LoanArrangement.objects.order_by("effective_on", "id")
    for start in range(0, len(loan_ids), CHUNK):
        yield from Loan.objects.filter(id__in=loan_ids[start : start + CHUNK]).prefetch_related(
            Prefetch("payments", queryset=payments, to_attr="posted"),
            Prefetch("arrangements", queryset=arrangements, to_attr="arranged"),
        )


def _replay(
    loan: Loan, lines: list[ScheduleLine], book: GraceBook, bucket_list: list[engine.Bucket], as_of: date
) -> engine.ReplayResult:
    """The loan through `as_of` under `book`, as services.loan_replay would store it."""
    return engine.replay(
        terms=loan.terms,
        installments=installments_for(loan, lines, book),
        payments=posted_payment_events(loan.posted),
        buckets=bucket_list,
        through=as_of,
        history_from=as_of,
        arrangements=[engine.ArrangementEvent(a.id, a.effective_on, a.kind, a.months) for a in loan.arranged],
        grace_for=book.engine_terms,
    )


def _add(side: _Side, loan: Loan, result: engine.ReplayResult, as_of: date, window_start: date) -> None:
    day = result.day_state
    if result.paid_off_on is None and day.dpd > 0:
        overdue = result.overdue_amount(as_of)
        side.facts[loan.pk] = _Facts(loan.product_id, loan.borrower_id, day.dpd, day.in_grace, day.grace_end, overdue)
    penalty = sum((i.penalty_accrued for i in result.installments if window_start <= i.due_date <= as_of), ZERO)
    if penalty:
        side.penalties[loan.pk] = (loan.product_id, penalty)


def _measure(side: _Side, books: dict[int, GraceBook], as_of: date) -> dict[int | None, Measures]:
    """The measures per product id, and in total under None (borrowers counted once)."""
    counts: dict[int | None, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    borrowers: dict[int | None, set[int]] = defaultdict(set)
    for facts in side.facts.values():
        book = books[facts.product_id]
        reportable = not facts.in_grace and bureau_over_threshold(
            book.policy_on(as_of), dpd=facts.dpd, overdue_amount=facts.overdue_amount
        )
        for key in (facts.product_id, None):
            tally = counts[key]
            tally["loans_in_grace" if facts.in_grace else "loans_overdue"] += 1
            tally["bureau_reportable"] += reportable
        # The policy in force on the loan's oldest overdue due date decides, as in collections/cases.py.
        if case_due(book.policy_on(as_of - timedelta(days=facts.dpd)), grace_end=facts.grace_end, on=as_of):
            borrowers[facts.product_id].add(facts.borrower_id)
            borrowers[None].add(facts.borrower_id)
    penalties: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    for product_id, amount in side.penalties.values():
        penalties[product_id] += amount
        penalties[None] += amount
    keys = set(counts) | set(borrowers) | set(penalties) | {None}
    return {
        key: Measures(
            loans_in_grace=counts[key]["loans_in_grace"],
            loans_overdue=counts[key]["loans_overdue"],
            bureau_reportable=counts[key]["bureau_reportable"],
            cases_to_open=len(borrowers[key]),
            penalty_income=penalties[key],
        )
        for key in keys
    }


def policy_in_force(product: Product | None, on: date) -> GracePolicy | None:
    """The version a draft for `product` (None: every product) would follow on from, on `on`."""
    if product is not None:
        return GraceBook(product.pk).policy_on(on)
    versions = GracePolicy.objects.filter(product__isnull=True, effective_from__lte=on)
    return versions.order_by("-effective_from").first()
