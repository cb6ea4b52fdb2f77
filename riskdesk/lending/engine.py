"""The loan engine: a loan's state as a pure function of its terms and its events.

No ORM here. `replay` takes a loan's original schedule (with the grace terms of each
installment), its payments in value-date order and the closed business date, and
returns every installment's state, every payment's allocation, the loan's days past
due and its bucket history. The nightly set-based close of day computes the same
numbers with SQL (lending/closeday.py) and a property test holds the two together.

Rules (DESIGN.md, "Loans and schedules"):

* Penalty interest of an installment on business date D is
      (unpaid_base * days(D - penalty_from) + late_base_days) * r * penalty_multiplier
  where unpaid_base is its unpaid principal (or principal + interest, per product)
  and late_base_days is the sum, over base amounts already paid, of amount x days
  paid after penalty_from. An amount unpaid at the end of day D thus costs
  D - penalty_from days, the same count as its days past due. The penalty is zero
  while D <= grace end, and stays zero if principal and interest were fully paid by
  the grace end. Exact until rounded half-up to the cent when stored or allocated.
* Allocation runs over installments oldest first, within each penalty -> interest ->
  principal. `regular` pays what is due on the value date, then the next installment
  not yet due; `prepayment` pays what is due and reduces principal, re-amortising
  the remaining installments over the same due dates; `payoff` settles the loan.
* Days past due on D = D - due date of the oldest installment whose unpaid principal
  + interest exceeds its arrears tolerance; 0 when none.

Arrangements (hardship; DESIGN.md "Outcomes and follow-up") are events too, replayed in
date order with the payments; on the same date the payments come first, then the
arrangement. On effective date d:

* penalty_waiver: every installment's penalty accrued to d and unpaid is forgiven:
      penalty_waived := max(penalty_waived, quantize(exact(d)) - penalty_paid)
  and from then on  penalty_on(D) = max(quantize(exact(D)) - penalty_waived, penalty_paid),
  so penalty keeps accruing after d on whatever is still unpaid.
* reinstallment over m months: with U = the unpaid principal of every open installment
  (overdue and not yet due) and C = the unpaid interest of installments due on or before d
  + max(quantize(r * sum of balance x days of the running period to d) - its interest paid, 0),
  the open installments are closed at what was paid (principal_due := principal_paid,
  interest_due := interest_paid, superseded_on := d) and U becomes m new installments with
  seq n+1.., due monthly on d's day (clamped to month end), periods P_1 = (d, d+1 month], ...
  Their principal parts split U by the loan's method (schedule.principal_parts, summing
  exactly to U); interest_k = quantize(O_k * r * d_k) on the declining balance, and C is
  booked as interest of the first new installment (so a payoff quote on d is unchanged).
  A closed installment's penalty is frozen at its value on d: its unpaid base is moved
  into late_base_days as if paid on d,
      late_base_days := late_base_days + unpaid_base * max(d - penalty_from, 0),
  so exact(D) = late_base_days * r * penalty_multiplier stays constant after d; it is
  still owed unless waived. Interest paid ahead for days after d is kept by the period
  it was paid on. Money is conserved: the payoff quote on d is the same before and after.
* extension by m months: the same, over (open installments not yet due on d) + m new
  installments, i.e. the remaining schedule stretched by m months.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from riskdesk.core.dates import add_months
from riskdesk.core.money import ZERO, quantize_money
from riskdesk.lending.schedule import Period, principal_parts

REGULAR = "regular"
PREPAYMENT = "prepayment"
PAYOFF = "payoff"
KINDS = (REGULAR, PREPAYMENT, PAYOFF)

BASE_PRINCIPAL = "principal"
BASE_PRINCIPAL_INTEREST = "principal_interest"

EXTENSION = "extension"
REINSTALLMENT = "reinstallment"
PENALTY_WAIVER = "penalty_waiver"
ARRANGEMENT_KINDS = (EXTENSION, REINSTALLMENT, PENALTY_WAIVER)


class PaymentRefused(Exception):
    """A new payment that its kind does not allow; nothing is written."""

    def __init__(self, code: str, message: str, field_name: str = "amount") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field_name


@dataclass(frozen=True)
class LoanTerms:
    principal: Decimal
    method: str
    disbursed_on: date
    daily_rate: Decimal
    penalty_multiplier: Decimal
    penalty_base: str = BASE_PRINCIPAL

    @property
    def penalty_rate(self) -> Decimal:
        return self.daily_rate * self.penalty_multiplier


@dataclass(frozen=True)
class Bucket:
    code: str
    min_dpd: int
    max_dpd: int | None


@dataclass
class InstallmentState:
    seq: int
    period_start: date
    due_date: date
    grace_end: date
    penalty_from: date
    tolerance: Decimal
    principal_due: Decimal
    interest_due: Decimal
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    penalty_paid: Decimal = ZERO
    penalty_accrued: Decimal = ZERO
    late_base_days: Decimal = ZERO
    pi_settled_on: date | None = None
    penalty_waived: Decimal = ZERO
    # Set when an arrangement closed this installment and moved what was unpaid to new ones.
    superseded_on: date | None = None
    arrangement_id: int | None = None  # the arrangement that created this installment

    @property
    def unpaid_principal(self) -> Decimal:
        return self.principal_due - self.principal_paid

    @property
    def unpaid_interest(self) -> Decimal:
        return self.interest_due - self.interest_paid

    @property
    def unpaid_pi(self) -> Decimal:
        return self.unpaid_principal + self.unpaid_interest

    def unpaid_base(self, penalty_base: str) -> Decimal:
        return self.unpaid_pi if penalty_base == BASE_PRINCIPAL_INTEREST else self.unpaid_principal

    def penalty_exact(self, on: date, terms: LoanTerms) -> Decimal:
        """Penalty interest as of the end of `on`, unrounded (see the module docstring)."""
        if on <= self.grace_end or (self.pi_settled_on is not None and self.pi_settled_on <= self.grace_end):
            return ZERO
        days = max((on - self.penalty_from).days, 0)
        return (self.unpaid_base(terms.penalty_base) * days + self.late_base_days) * terms.penalty_rate

    def penalty_on(self, on: date, terms: LoanTerms) -> Decimal:
        return max(quantize_money(self.penalty_exact(on, terms)) - self.penalty_waived, self.penalty_paid)

    @property
    def is_open(self) -> bool:
        return self.superseded_on is None

    def is_settled(self) -> bool:
        return self.unpaid_pi == 0 and self.penalty_paid >= self.penalty_accrued


@dataclass(frozen=True)
class PaymentEvent:
    id: int
    value_date: date
    amount: Decimal
    kind: str


@dataclass(frozen=True)
class ArrangementEvent:
    id: int
    effective_on: date
    kind: str
    months: int | None = None


@dataclass(frozen=True)
class GraceTerms:
    """The grace terms a new installment takes from the policy in force on its due date."""

    grace_end: date
    penalty_from: date
    tolerance: Decimal


GraceFor = Callable[[date], GraceTerms]


def default_grace(due: date) -> GraceTerms:
    """Three days of grace, penalty from the due date, 1.00 tolerance (the default policy)."""
    return GraceTerms(due + timedelta(days=3), due, Decimal("1.00"))


@dataclass(frozen=True)
class AllocationLine:
    payment_id: int
    seq: int
    penalty: Decimal
    interest: Decimal
    principal: Decimal

    @property
    def total(self) -> Decimal:
        return self.penalty + self.interest + self.principal


@dataclass(frozen=True)
class BucketChange:
    on: date
    from_bucket: str
    to_bucket: str
    dpd: int


@dataclass(frozen=True)
class DayState:
    """A loan's delinquency on one closed business date."""

    dpd: int
    bucket: str
    grace_end: date | None
    in_grace: bool


@dataclass
class ReplayResult:
    installments: list[InstallmentState]
    allocations: list[AllocationLine]
    unapplied: dict[int, Decimal]
    state_date: date
    day_state: DayState
    bucket_changes: list[BucketChange]
    paid_off_on: date | None
    ledger: LoanLedger

    @property
    def outstanding_principal(self) -> Decimal:
        return sum((i.unpaid_principal for i in self.installments), ZERO)

    def overdue_amount(self, on: date) -> Decimal:
        """Unpaid principal and interest due before `on`, plus all unpaid penalty."""
        pi = sum((i.unpaid_pi for i in self.installments if i.due_date < on), ZERO)
        return pi + self.penalty_outstanding

    @property
    def penalty_outstanding(self) -> Decimal:
        return sum((i.penalty_accrued - i.penalty_paid for i in self.installments), ZERO)


@dataclass
class _Snapshot:
    """What makes a loan delinquent from `start` on: the oldest due date over tolerance."""

    start: date
    oldest_due: date | None
    grace_end: date | None


@dataclass
class LoanLedger:
    """The mutable state of one loan while its events are applied in order."""

    terms: LoanTerms
    installments: list[InstallmentState]
    # Per installment seq: the interest-bearing balance when its period opened, and the
    # principal prepaid inside that period as (value date, amount), so that interest of
    # the current period follows the balance day by day.
    period_opening: dict[int, Decimal] = field(default_factory=dict)
    period_prepaid: dict[int, list[tuple[date, Decimal]]] = field(default_factory=dict)
    # Interest an arrangement carried into the first installment of its new schedule.
    period_carried: dict[int, Decimal] = field(default_factory=dict)

    # -- reading -----------------------------------------------------------------

    def due_on(self, on: date) -> list[InstallmentState]:
        return [i for i in self.installments if i.due_date <= on]

    def current_period(self, on: date) -> InstallmentState | None:
        """The first open installment not yet due on `on`: the period that is running."""
        return next((i for i in self.installments if i.due_date > on and i.is_open), None)

    def later_than(self, inst: InstallmentState) -> list[InstallmentState]:
        return [i for i in self.installments if i.seq > inst.seq and i.is_open]

    def amount_due(self, on: date) -> Decimal:
        return sum((self._owed(i, on) for i in self.due_on(on)), ZERO)

    def _owed(self, inst: InstallmentState, on: date) -> Decimal:
        return inst.penalty_on(on, self.terms) - inst.penalty_paid + inst.unpaid_pi

    def opening_balance(self, inst: InstallmentState) -> Decimal:
        if inst.seq in self.period_opening:
            return self.period_opening[inst.seq]
        return sum((i.principal_due for i in self.installments if i.seq >= inst.seq), ZERO)

    def payoff_quote(self, on: date) -> dict[str, Decimal]:
        """What settles the loan on `on`: due amounts, penalty, principal and interest to date."""
        ledger = copy.deepcopy(self)
        ledger._restructure_for_payoff(on)
        penalty = sum((i.penalty_on(on, self.terms) - i.penalty_paid for i in ledger.installments), ZERO)
        interest = sum((i.unpaid_interest for i in ledger.installments), ZERO)
        principal = sum((i.unpaid_principal for i in ledger.installments), ZERO)
        return {
            "total": penalty + interest + principal,
            "principal": principal,
            "interest": interest,
            "penalty": penalty,
            "overdue": self.amount_due(on),
        }

    # -- applying payments -------------------------------------------------------

    def apply(self, payment: PaymentEvent, *, strict: bool) -> tuple[list[AllocationLine], Decimal]:
        """Allocate one payment; return its lines and what could not be applied.

        With strict=True a payment its kind does not allow raises PaymentRefused (a new
        payment being posted). On replay (strict=False) a payment that history has
        made too large or too small is applied in order and any excess kept unapplied,
        so that earlier money is never refused after the fact.
        """
        lines: dict[int, list[Decimal]] = {}
        kind = payment.kind
        if kind == PAYOFF:
            quote = self.payoff_quote(payment.value_date)["total"]
            if strict and payment.amount != quote:
                short = "short of" if payment.amount < quote else "more than"
                raise PaymentRefused(
                    "payoff_amount_mismatch",
                    f"A payoff on {payment.value_date} is {quote}; {payment.amount} is {short} it.",
                )
            if payment.amount >= quote:
                self._restructure_for_payoff(payment.value_date)
            else:
                kind = PREPAYMENT  # replay only: history left this payoff short
        remaining = self._pay_due(payment, payment.amount, lines)
        if remaining and kind == PAYOFF:
            remaining = self._pay_in_order(payment, remaining, lines)
        elif remaining and kind == REGULAR:
            remaining = self._pay_next_installment(payment, remaining, lines, strict=strict)
        elif remaining and kind == PREPAYMENT:
            remaining = self._prepay(payment, remaining, lines, strict=strict)
        if remaining and not strict:
            remaining = self._pay_in_order(payment, remaining, lines)
        if remaining and strict:
            raise PaymentRefused("nothing_left_to_pay", "The loan has nothing left to pay; the amount is too large.")
        return [AllocationLine(payment.id, seq, *parts) for seq, parts in sorted(lines.items())], remaining

    def _pay(self, inst: InstallmentState, on: date, amount: Decimal, lines: dict[int, list[Decimal]]) -> Decimal:
        """Pay one installment penalty -> interest -> principal; return what is left."""
        inst.penalty_accrued = inst.penalty_on(on, self.terms)
        penalty = min(amount, inst.penalty_accrued - inst.penalty_paid)
        interest = min(amount - penalty, inst.unpaid_interest)
        principal = min(amount - penalty - interest, inst.unpaid_principal)
        if not (penalty or interest or principal):
            return amount
        inst.penalty_paid += penalty
        inst.interest_paid += interest
        inst.principal_paid += principal
        base = principal + interest if self.terms.penalty_base == BASE_PRINCIPAL_INTEREST else principal
        inst.late_base_days += base * max((on - inst.penalty_from).days, 0)
        if inst.unpaid_pi == 0 and inst.pi_settled_on is None:
            inst.pi_settled_on = on
        line = lines.setdefault(inst.seq, [ZERO, ZERO, ZERO])
        line[0] += penalty
        line[1] += interest
        line[2] += principal
        return amount - penalty - interest - principal

    def _pay_due(self, payment: PaymentEvent, amount: Decimal, lines: dict[int, list[Decimal]]) -> Decimal:
        for inst in self.due_on(payment.value_date):
            if not amount:
                break
            amount = self._pay(inst, payment.value_date, amount, lines)
        return amount

    def _pay_in_order(self, payment: PaymentEvent, amount: Decimal, lines: dict[int, list[Decimal]]) -> Decimal:
        for inst in self.installments:
            if not amount:
                break
            amount = self._pay(inst, payment.value_date, amount, lines)
        return amount

    def _pay_next_installment(
        self, payment: PaymentEvent, amount: Decimal, lines: dict[int, list[Decimal]], *, strict: bool
    ) -> Decimal:
        nxt = next((i for i in self.installments if i.due_date > payment.value_date and i.unpaid_pi), None)
        if nxt is not None:
            amount = self._pay(nxt, payment.value_date, amount, lines)
        if amount and strict:
            allowed = payment.amount - amount
            raise PaymentRefused(
                "exceeds_regular",
                f"A regular payment on {payment.value_date} may be at most {allowed} (what is due plus the "
                f"next installment); pay more as kind 'prepayment', or settle the loan with 'payoff'.",
            )
        return amount

    def _prepay(
        self, payment: PaymentEvent, amount: Decimal, lines: dict[int, list[Decimal]], *, strict: bool
    ) -> Decimal:
        on = payment.value_date
        current = self.current_period(on)
        later = self.later_than(current) if current else []
        remaining_principal = sum((i.unpaid_principal for i in ([current] if current else []) + later), ZERO)
        if current is None or amount >= remaining_principal:
            if strict:
                quote = self.payoff_quote(on)["total"]
                raise PaymentRefused(
                    "prepayment_covers_loan",
                    f"This prepayment would repay all principal; settle the loan with kind 'payoff' ({quote} on {on}).",
                )
            return amount
        self._reamortise(current, later, on, amount, lines)
        return ZERO

    def _reamortise(
        self,
        current: InstallmentState,
        later: list[InstallmentState],
        on: date,
        prepaid: Decimal,
        lines: dict[int, list[Decimal]],
    ) -> None:
        """Reduce principal by `prepaid` on `on` and re-spread the rest over the same due dates.

        Only installments nothing has been paid on are re-spread: one paid early, in
        full or in part, keeps its amounts, so it is never reopened. The prepaid
        principal first reduces the balance spread over the untouched installments
        (booked on the current installment, whose due and paid rise alike), and any
        rest pays down the partly paid ones. Interest of the current period becomes
        r * (O_k * d_k - sum of prepaid * days left after each prepayment), never below
        interest already paid on it.
        """
        terms = self.terms
        self.period_opening.setdefault(current.seq, self.opening_balance(current))
        self.period_prepaid.setdefault(current.seq, []).append((on, prepaid))
        installments = [current, *later]
        untouched = [i for i in installments if not (i.principal_paid or i.interest_paid)]
        partly_paid = [i for i in installments if i not in untouched and i.unpaid_principal]
        spread = sum((i.unpaid_principal for i in untouched), ZERO)
        into_spread = min(prepaid, spread)
        if untouched:
            periods = [Period(on if i is current else i.period_start, i.due_date) for i in untouched]
            parts = principal_parts(
                balance=spread - into_spread, method=terms.method, periods=periods, daily_rate=terms.daily_rate
            )
            for inst, part in zip(untouched, parts, strict=True):
                inst.principal_due = inst.principal_paid + part
        self._book_principal(current, into_spread, on, lines, raise_due=True)
        rest = prepaid - into_spread
        for inst in partly_paid:
            paid = min(rest, inst.unpaid_principal)
            self._book_principal(inst, paid, on, lines, raise_due=False)
            rest -= paid
        current.interest_due = max(
            current.interest_paid, quantize_money(self._period_interest(current, current.due_date))
        )
        for inst in later:
            opening = self.opening_balance(inst)
            interest = quantize_money(opening * terms.daily_rate * (inst.due_date - inst.period_start).days)
            inst.interest_due = max(inst.interest_paid, interest)
        for inst in installments:
            if inst.unpaid_pi == 0 and inst.pi_settled_on is None:
                inst.pi_settled_on = on

    def _book_principal(
        self, inst: InstallmentState, amount: Decimal, on: date, lines: dict[int, list[Decimal]], *, raise_due: bool
    ) -> None:
        """Record `amount` of prepaid principal on `inst` (and in the payment's lines)."""
        if not amount:
            return
        if raise_due:
            inst.principal_due += amount
        inst.principal_paid += amount
        lines.setdefault(inst.seq, [ZERO, ZERO, ZERO])[2] += amount

    def _period_interest(self, inst: InstallmentState, until: date) -> Decimal:
        """Exact interest of `inst`'s period from its start to `until`, following prepayments."""
        balance_days = self.opening_balance(inst) * (until - inst.period_start).days
        for on, amount in self.period_prepaid.get(inst.seq, []):
            balance_days -= amount * max((until - on).days, 0)
        return self.period_carried.get(inst.seq, ZERO) + balance_days * self.terms.daily_rate

    def _restructure_for_payoff(self, on: date) -> None:
        """Make the loan settle on `on`: the current period's interest runs to `on` and
        carries all remaining principal; later installments shrink to what is paid."""
        current = self.current_period(on)
        if current is None:
            return
        current.interest_due = max(current.interest_paid, quantize_money(self._period_interest(current, on)))
        for inst in self.later_than(current):
            current.principal_due += inst.unpaid_principal
            inst.principal_due = inst.principal_paid
            inst.interest_due = inst.interest_paid
            if inst.pi_settled_on is None:
                inst.pi_settled_on = on  # nothing is left to pay on it
        if current.unpaid_pi:
            current.pi_settled_on = None  # it carries the rest of the loan now

    # -- applying arrangements ---------------------------------------------------

    def arrange(self, event: ArrangementEvent, grace_for: GraceFor) -> None:
        """Carry out one arrangement on its effective date (see the module docstring)."""
        if event.kind == PENALTY_WAIVER:
            self._waive_penalty(event.effective_on)
            return
        on = event.effective_on
        months = event.months or 0
        if event.kind == EXTENSION:
            months += sum(1 for i in self.installments if i.is_open and i.due_date > on)
        if months < 1:
            raise ValueError(f"an arrangement of kind {event.kind!r} needs months")
        moved, carried = self._close_open_installments(on)
        if moved or carried:
            self._append_schedule(event.id, on, months, moved, carried, grace_for)

    def penalty_forgivable(self, on: date) -> Decimal:
        """Penalty accrued to `on` and not yet paid: what a waiver on `on` forgives."""
        return sum((i.penalty_on(on, self.terms) - i.penalty_paid for i in self.installments), ZERO)

    def _waive_penalty(self, on: date) -> None:
        for inst in self.installments:
            exact = quantize_money(inst.penalty_exact(on, self.terms))
            inst.penalty_waived = max(inst.penalty_waived, exact - inst.penalty_paid)
            inst.penalty_accrued = inst.penalty_on(on, self.terms)

    def _close_open_installments(self, on: date) -> tuple[Decimal, Decimal]:
        """Close every open installment at what was paid; return (principal moved, interest carried)."""
        current = self.current_period(on)
        accrued = ZERO
        if current is not None:
            accrued = max(quantize_money(self._period_interest(current, on)) - current.interest_paid, ZERO)
        moved = carried = ZERO
        for inst in self.installments:
            if not inst.is_open or (inst.due_date <= on and inst.unpaid_pi == 0):
                continue
            inst.penalty_accrued = inst.penalty_on(on, self.terms)
            inst.late_base_days += inst.unpaid_base(self.terms.penalty_base) * max((on - inst.penalty_from).days, 0)
            moved += inst.unpaid_principal
            if inst.due_date <= on:
                carried += inst.unpaid_interest
            inst.principal_due, inst.interest_due = inst.principal_paid, inst.interest_paid
            inst.superseded_on = on
            if inst.pi_settled_on is None:
                inst.pi_settled_on = on
        return moved, carried + accrued

    def _append_schedule(
        self, arrangement_id: int, on: date, months: int, moved: Decimal, carried: Decimal, grace_for: GraceFor
    ) -> None:
        """Add `months` installments from `on` repaying `moved`, the first also carrying `carried`."""
        dues = [add_months(on, k) for k in range(1, months + 1)]
        periods = [Period(start, due) for start, due in zip([on, *dues[:-1]], dues, strict=True)]
        parts = principal_parts(
            balance=moved, method=self.terms.method, periods=periods, daily_rate=self.terms.daily_rate
        )
        seq = max(i.seq for i in self.installments)
        opening = moved
        for k, (period, part) in enumerate(zip(periods, parts, strict=True)):
            seq += 1
            interest = quantize_money(opening * self.terms.daily_rate * period.days)
            grace = grace_for(period.due)
            inst = InstallmentState(
                seq=seq,
                period_start=period.start,
                due_date=period.due,
                grace_end=grace.grace_end,
                penalty_from=grace.penalty_from,
                tolerance=grace.tolerance,
                principal_due=part,
                interest_due=interest + (carried if k == 0 else ZERO),
                arrangement_id=arrangement_id,
            )
            self.period_opening[seq] = opening
            if k == 0:
                self.period_carried[seq] = carried
            self.installments.append(inst)
            opening -= part

    def snapshot(self, start: date) -> _Snapshot:
        delinquent = [i for i in self.installments if i.unpaid_pi > i.tolerance]
        oldest = min(delinquent, key=lambda i: i.due_date, default=None)
        return _Snapshot(start, oldest.due_date if oldest else None, oldest.grace_end if oldest else None)


def bucket_for(dpd: int, buckets: Sequence[Bucket]) -> str:
    for bucket in buckets:
        if dpd >= bucket.min_dpd and (bucket.max_dpd is None or dpd <= bucket.max_dpd):
            return bucket.code
    raise ValueError(f"no bucket covers {dpd} days past due")


def _day_state(snapshot: _Snapshot, on: date, buckets: Sequence[Bucket]) -> DayState:
    dpd = max((on - snapshot.oldest_due).days, 0) if snapshot.oldest_due else 0
    grace_end = snapshot.grace_end if dpd else None
    return DayState(dpd, bucket_for(dpd, buckets), grace_end, bool(dpd) and grace_end is not None and on <= grace_end)


def _bucket_changes(
    snapshots: list[_Snapshot], buckets: Sequence[Bucket], *, first: date, through: date, previous: str
) -> list[BucketChange]:
    """Bucket changes on each day from `first` to `through`, starting from `previous`.

    Inside one snapshot the days past due grow by one a day, so the bucket can only
    change on the snapshot's first day or where the count crosses a bucket's minimum.
    """
    changes: list[BucketChange] = []
    ends = [s.start for s in snapshots[1:]] + [date.max]
    for snapshot, end in zip(snapshots, ends, strict=True):
        lo, hi = max(snapshot.start, first), min(end.toordinal() - 1, through.toordinal())
        if lo.toordinal() > hi:
            continue
        candidates = [lo]
        if snapshot.oldest_due is not None:
            candidates += [date.fromordinal(snapshot.oldest_due.toordinal() + b.min_dpd) for b in buckets if b.min_dpd]
        for day in sorted({d for d in candidates if lo <= d and d.toordinal() <= hi}):
            state = _day_state(snapshot, day, buckets)
            if state.bucket != previous:
                changes.append(BucketChange(day, previous, state.bucket, state.dpd))
                previous = state.bucket
    return changes


def replay(
    *,
    terms: LoanTerms,
    installments: Iterable[InstallmentState],
    payments: Iterable[PaymentEvent],
    buckets: Sequence[Bucket],
    through: date,
    history_from: date | None = None,
    bucket_before: str | None = None,
    strict_payment_id: int | None = None,
    arrangements: Iterable[ArrangementEvent] = (),
    grace_for: GraceFor = default_grace,
) -> ReplayResult:
    """Apply a loan's payments and arrangements in date order to its original schedule.

    `through` is the last closed business date: days past due and bucket are as of
    it, and bucket changes are emitted for days from `history_from` (default: the
    disbursement date) to it, starting from `bucket_before`. Installments carry every
    event, with penalty as of the later of `through` and the last event's date. On one
    date payments come before arrangements; `grace_for` gives an arrangement's new
    installments their grace terms.
    """
    ledger = LoanLedger(terms, [copy.copy(i) for i in installments])
    events: list[tuple[date, int, int, PaymentEvent | ArrangementEvent]] = [
        (p.value_date, 0, p.id, p) for p in payments
    ]
    events += [(a.effective_on, 1, a.id, a) for a in arrangements]
    events.sort(key=lambda e: e[:3])
    allocations: list[AllocationLine] = []
    unapplied: dict[int, Decimal] = {}
    snapshots = [ledger.snapshot(terms.disbursed_on)]
    paid_off_on: date | None = None
    for on, _, _, event in events:
        if isinstance(event, ArrangementEvent):
            ledger.arrange(event, grace_for)
        else:
            lines, left = ledger.apply(event, strict=event.id == strict_payment_id)
            allocations += lines
            if left:
                unapplied[event.id] = left
        if snapshots[-1].start == on:
            snapshots.pop()
        snapshots.append(ledger.snapshot(on))
        if paid_off_on is None and all(i.is_settled() for i in ledger.installments):
            paid_off_on = on
    state_date = max([through] + [e[0] for e in events])
    for inst in ledger.installments:
        inst.penalty_accrued = inst.penalty_on(state_date, terms)
    if not all(i.is_settled() for i in ledger.installments):
        paid_off_on = None
    in_force = [s for s in snapshots if s.start <= through]
    day_state = _day_state(in_force[-1], through, buckets) if in_force else DayState(0, buckets[0].code, None, False)
    first = max(history_from or terms.disbursed_on, terms.disbursed_on)
    changes = _bucket_changes(
        snapshots, buckets, first=first, through=through, previous=bucket_before or buckets[0].code
    )
    return ReplayResult(
        ledger.installments, allocations, unapplied, state_date, day_state, changes, paid_off_on, ledger
    )
