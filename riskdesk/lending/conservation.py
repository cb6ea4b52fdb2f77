"""The book's conservation check (`manage.py audit_book`, and the last step of close of day).

Money is neither made nor lost between a payment and the schedule it pays, and what a
loan stores agrees with its installments. For every loan, as of business date D (the
last closed day, or the day being closed):

* payments_allocated: a posted payment's amount = its allocations (penalty + interest +
  principal) + its unapplied money; a reversed payment keeps no allocation;
* allocations_match_installments: per installment and component, what was paid = the
  allocations of the posted payments to it;
* schedule_principal: the principal parts of the schedule sum to the loan's principal
  (a prepayment or an arrangement moves principal between installments, never out);
* paid_within_due: 0 <= paid <= due per installment for principal, interest and penalty;
* outstanding_principal, penalty_accrued: the loan's = sum of its installments' unpaid
  principal, unpaid penalty;
* overdue_amount: the loan's = unpaid principal + interest of installments due before D
  + unpaid penalty (the night and the replay both store it as of D);
* next_due_date: the due date of the oldest installment not settled in principal and interest;
* status: paid_off exactly when nothing is left to pay, with its paid_off_on (a written-off
  loan is left out).

Set-based: three statements per id range of loans, each one pass over its table's range;
Python only sorts the broken rows into rules. The same SQL runs on Postgres and SQLite,
comparing amounts to the half cent (SQLite computes decimals as floats).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Max, Min

from riskdesk.core.jobs import RowCounts, Step, id_ranges
from riskdesk.core.models import JobChunk
from riskdesk.core.sql import date_param, fetch_all
from riskdesk.lending.models import Loan
from riskdesk.lending.selectors import state_date

AUDIT_BOOK_STEP_NAME = "lending.audit_book"
FIRST = 10  # loans shown per broken rule

RULES = {
    "payments_allocated": "a posted payment = its allocations + unapplied; a reversed one has no allocation",
    "allocations_match_installments": "an installment's paid amounts = the allocations to it",
    "schedule_principal": "the schedule's principal = the loan's principal",
    "paid_within_due": "0 <= paid <= due per installment and component",
    "outstanding_principal": "the loan's outstanding principal = its installments' unpaid principal",
    "penalty_accrued": "the loan's penalty = its installments' unpaid penalty",
    "overdue_amount": "the loan's overdue amount = unpaid principal and interest due before the day + unpaid penalty",
    "next_due_date": "the loan's next due date = the oldest installment not settled",
    "status": "paid_off exactly when nothing is left to pay",
}


def _differs(a: str, b: str) -> str:
    return f"ABS(({a}) - ({b})) >= 0.005"


@dataclass
class Breach:
    loan_id: int
    found: dict[str, Any]


@dataclass
class RuleReport:
    count: int = 0
    first: list[Breach] = field(default_factory=list)

    def add(self, breach: Breach) -> None:
        self.count += 1
        if len(self.first) < FIRST or breach.loan_id < self.first[-1].loan_id:
            self.first = sorted([*self.first, breach], key=lambda b: b.loan_id)[:FIRST]


@dataclass
class AuditReport:
    """What broke, by rule: how many (loan, payment or installment) rows, and the first loans."""

    as_of: date | None
    loans: int = 0
    rules: dict[str, RuleReport] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.rules

    @property
    def broken_loans(self) -> set[int]:
        return {b.loan_id for r in self.rules.values() for b in r.first}

    def add(self, rule: str, loan_id: int, **found: Any) -> None:
        self.rules.setdefault(rule, RuleReport()).add(Breach(loan_id, found))

    def merge(self, other: AuditReport) -> None:
        self.loans += other.loans
        for rule, report in other.rules.items():
            mine = self.rules.setdefault(rule, RuleReport())
            mine.count += report.count
            mine.first = sorted([*mine.first, *report.first], key=lambda b: b.loan_id)[:FIRST]

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "loans": self.loans,
            "clean": self.clean,
            "rules": {
                rule: {
                    "rule": RULES[rule],
                    "count": report.count,
                    "first": [{"loan": b.loan_id, **{k: _plain(v) for k, v in b.found.items()}} for b in report.first],
                }
                for rule, report in sorted(self.rules.items())
            },
        }

    def as_text(self) -> str:
        head = f"audit_book as of {self.as_of or 'no closed day'}: {self.loans} loans"
        if self.clean:
            return f"{head}, every rule holds."
        lines = [f"{head}, {len(self.rules)} rule(s) broken:"]
        for rule, report in sorted(self.rules.items()):
            lines.append(f"  {rule} ({RULES[rule]}): {report.count}")
            for b in report.first:
                found = ", ".join(f"{k} {_plain(v)}" for k, v in b.found.items())
                lines.append(f"    loan {b.loan_id}: {found}")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, float):  # SQLite hands sums back as floats
        return f"{value:.2f}"
    return str(value) if value is not None and not isinstance(value, int | str) else value


class BookOutOfBalance(Exception):
    """The conservation check found broken rules; the message is the report."""

    def __init__(self, report: AuditReport) -> None:
        super().__init__(report.as_text())
        self.report = report


# -- the rules, over one id range of loans -------------------------------------------


def audit_range(lo: int, hi: int, as_of: date | None) -> AuditReport:
    """Check every rule on the loans with ids lo..hi, as of business date `as_of`."""
    report = AuditReport(as_of)
    report.loans = fetch_all("SELECT COUNT(*) FROM lending_loan WHERE id BETWEEN %s AND %s", [lo, hi])[0][0]
    _check_loans(report, lo, hi, as_of or date.min)
    _check_installment_allocations(report, lo, hi)
    _check_payments(report, lo, hi)
    return report


def _check_loans(report: AuditReport, lo: int, hi: int, as_of: date) -> None:
    """The loan-level rules and paid <= due, in one pass over the range's installments."""
    unpaid_pi = "i.principal_due + i.interest_due - i.principal_paid - i.interest_paid"
    overpaid = (
        "i.principal_paid < 0 OR i.principal_paid > i.principal_due OR i.interest_paid < 0"
        " OR i.interest_paid > i.interest_due OR i.penalty_paid < 0 OR i.penalty_paid > i.penalty_accrued"
    )
    settled = "s.unpaid = 0"
    rows = fetch_all(
        f"""
        SELECT l.id, l.status, l.paid_off_on, l.principal, s.principal_due,
               l.outstanding_principal, s.unpaid_principal, l.penalty_accrued, s.unpaid_penalty,
               l.overdue_amount, s.overdue_pi + s.unpaid_penalty, l.next_due_date, s.next_due,
               s.overpaid, s.overpaid_seq, s.unpaid
        FROM lending_loan l
        LEFT JOIN (
            SELECT i.loan_id,
                   SUM(i.principal_due) AS principal_due,
                   SUM(i.principal_due - i.principal_paid) AS unpaid_principal,
                   SUM(i.penalty_accrued - i.penalty_paid) AS unpaid_penalty,
                   SUM(CASE WHEN i.due_date < {date_param()} THEN {unpaid_pi} ELSE 0 END) AS overdue_pi,
                   MIN(CASE WHEN i.pi_settled_on IS NULL THEN i.due_date END) AS next_due,
                   SUM(CASE WHEN {overpaid} THEN 1 ELSE 0 END) AS overpaid,
                   MIN(CASE WHEN {overpaid} THEN i.seq END) AS overpaid_seq,
                   SUM(CASE WHEN ABS({unpaid_pi}) >= 0.005 OR ABS(i.penalty_accrued - i.penalty_paid) >= 0.005
                       THEN 1 ELSE 0 END) AS unpaid
            FROM lending_installment i WHERE i.loan_id BETWEEN %s AND %s
            GROUP BY i.loan_id
        ) s ON s.loan_id = l.id
        WHERE l.id BETWEEN %s AND %s AND (
            s.loan_id IS NULL
            OR {_differs("l.principal", "s.principal_due")}
            OR {_differs("l.outstanding_principal", "s.unpaid_principal")}
            OR {_differs("l.penalty_accrued", "s.unpaid_penalty")}
            OR {_differs("l.overdue_amount", "s.overdue_pi + s.unpaid_penalty")}
            OR (l.next_due_date IS NULL) <> (s.next_due IS NULL) OR l.next_due_date <> s.next_due
            OR s.overpaid > 0
            OR (l.status <> 'written_off' AND ((l.status = 'paid_off') <> ({settled})
                OR (l.status = 'paid_off') <> (l.paid_off_on IS NOT NULL)))
        )
        ORDER BY l.id
        """,
        [as_of, lo, hi, lo, hi],
    )
    for row in rows:
        _sort_loan_row(report, *row)


def _sort_loan_row(
    report: AuditReport,
    loan_id: int,
    status: str,
    paid_off_on: Any,
    principal: Any,
    scheduled: Any,
    outstanding: Any,
    unpaid_principal: Any,
    penalty: Any,
    unpaid_penalty: Any,
    overdue: Any,
    overdue_expected: Any,
    next_due: Any,
    next_due_expected: Any,
    overpaid: Any,
    overpaid_seq: Any,
    unpaid: Any,
) -> None:
    def off(a: Any, b: Any) -> bool:
        return a is None or b is None or abs(float(a) - float(b)) >= 0.005

    if off(principal, scheduled):
        report.add("schedule_principal", loan_id, principal=principal, scheduled=scheduled)
    if off(outstanding, unpaid_principal):
        report.add("outstanding_principal", loan_id, stored=outstanding, installments=unpaid_principal)
    if off(penalty, unpaid_penalty):
        report.add("penalty_accrued", loan_id, stored=penalty, installments=unpaid_penalty)
    if off(overdue, overdue_expected):
        report.add("overdue_amount", loan_id, stored=overdue, installments=overdue_expected)
    if str(next_due) != str(next_due_expected):
        report.add("next_due_date", loan_id, stored=next_due, installments=next_due_expected)
    if overpaid:
        report.add("paid_within_due", loan_id, installments=overpaid, first_seq=overpaid_seq)
    settled = unpaid == 0
    if status != Loan.Status.WRITTEN_OFF and (
        (status == Loan.Status.PAID_OFF) != settled or (status == Loan.Status.PAID_OFF) != (paid_off_on is not None)
    ):
        report.add("status", loan_id, status=status, paid_off_on=paid_off_on, installments_unpaid=unpaid)


def _check_installment_allocations(report: AuditReport, lo: int, hi: int) -> None:
    """Per (loan, seq): paid amounts minus the posted payments' allocations are zero."""
    rows = fetch_all(
        f"""
        SELECT loan_id, seq, SUM(penalty), SUM(interest), SUM(principal) FROM (
            SELECT i.loan_id, i.seq, i.penalty_paid AS penalty, i.interest_paid AS interest,
                   i.principal_paid AS principal
            FROM lending_installment i WHERE i.loan_id BETWEEN %s AND %s
            UNION ALL
            SELECT a.loan_id, a.seq, -a.penalty, -a.interest, -a.principal
            FROM lending_allocation a JOIN lending_payment p ON p.id = a.payment_id
            WHERE a.loan_id BETWEEN %s AND %s AND p.status = 'posted'
        ) x
        GROUP BY loan_id, seq
        HAVING {_differs("SUM(penalty)", "0")} OR {_differs("SUM(interest)", "0")} OR {_differs("SUM(principal)", "0")}
        ORDER BY loan_id, seq
        """,
        [lo, hi, lo, hi],
    )
    for loan_id, seq, penalty, interest, principal in rows:
        report.add(
            "allocations_match_installments",
            loan_id,
            seq=seq,
            penalty_paid_minus_allocated=penalty,
            interest_paid_minus_allocated=interest,
            principal_paid_minus_allocated=principal,
        )


def _check_payments(report: AuditReport, lo: int, hi: int) -> None:
    rows = fetch_all(
        f"""
        SELECT p.loan_id, p.id, p.status, p.amount, p.unapplied, a.allocated
        FROM lending_payment p
        LEFT JOIN (
            SELECT payment_id, SUM(penalty + interest + principal) AS allocated
            FROM lending_allocation WHERE loan_id BETWEEN %s AND %s GROUP BY payment_id
        ) a ON a.payment_id = p.id
        WHERE p.loan_id BETWEEN %s AND %s AND (
            (p.status = 'posted' AND {_differs("p.amount", "p.unapplied + COALESCE(a.allocated, 0)")})
            OR (p.status <> 'posted' AND a.allocated IS NOT NULL)
        )
        ORDER BY p.loan_id, p.id
        """,
        [lo, hi, lo, hi],
    )
    for loan_id, payment_id, status, amount, unapplied, allocated in rows:
        report.add(
            "payments_allocated",
            loan_id,
            payment=payment_id,
            status=status,
            amount=amount,
            allocated=allocated if allocated is not None else 0,
            unapplied=unapplied,
        )


# -- the whole book, and the nightly step --------------------------------------------


def book_ranges(size: int | None = None) -> list[tuple[int, int]]:
    """Id ranges over every loan (paid-off and written-off loans conserve money too)."""
    bounds = Loan.objects.aggregate(lo=Min("id"), hi=Max("id"))
    return id_ranges(bounds["lo"], bounds["hi"], size or settings.CLOSE_DAY_CHUNK_LOANS)


def audit_book(*, as_of: date | None = None, ranges: Iterable[tuple[int, int]] | None = None) -> AuditReport:
    """Check the whole book (or the given id ranges) as of `as_of` (default: the last closed day)."""
    as_of = as_of or state_date()
    report = AuditReport(as_of)
    for lo, hi in ranges if ranges is not None else book_ranges():
        report.merge(audit_range(lo, hi, as_of))
    return report


def audit_chunk(day: date, lo: int, hi: int) -> RowCounts:
    """The step's chunk: count what is broken; the finish reports it (the chunk never fails alone)."""
    report = audit_range(lo, hi, day)
    return {"loans_audited": report.loans, "book_breaches": sum(r.count for r in report.rules.values())}


def audit_finish(day: date) -> RowCounts:
    """Fail the step with the report when a chunk found a breach, after checking those chunks again.

    A breach halts the night before the day is marked closed: the next steps and the
    next days would build on money that does not add up. A rerun after the fix checks
    the broken ranges again and, when they hold, closes the day.
    """
    broken = JobChunk.objects.filter(
        job_run__step=AUDIT_BOOK_STEP_NAME, job_run__business_date=day, rows__book_breaches__gt=0
    )
    if not broken.exists():
        return {}
    report = audit_book(as_of=day, ranges=broken.values_list("lo", "hi"))
    if not report.clean:
        raise BookOutOfBalance(report)
    for chunk in broken:
        chunk.rows = {**chunk.rows, "book_breaches": 0}
        chunk.save(update_fields=["rows"])
    return {}


def report_json(report: AuditReport) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=True)


AUDIT_BOOK_STEP = Step(AUDIT_BOOK_STEP_NAME, lambda _: book_ranges(), audit_chunk, audit_finish)
