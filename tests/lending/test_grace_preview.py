"""The grace-policy preview: a draft policy or incident window against the policy in force."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from riskdesk import nightly
from riskdesk.collections import bureau
from riskdesk.collections.cases import CASES_STEP
from riskdesk.collections.models import Case
from riskdesk.core.errors import DomainError
from riskdesk.core.models import AuditLog, JobRun
from riskdesk.lending import closeday, services, views
from riskdesk.lending.grace_preview import (
    GracePreview,
    Measures,
    PolicyDraft,
    WindowDraft,
    grace_policy_simulate,
)
from riskdesk.lending.models import (
    BucketHistory,
    GracePolicy,
    IncidentWindow,
    Installment,
    Loan,
    LoanMonthSnapshot,
    Product,
)
from riskdesk.lending.selectors import GraceBook, book_digest
from tests.conftest import client_for

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def lending_nights_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Close days with lending's steps alone: the preview reads nothing the other apps' steps write."""
    monkeypatch.setattr(nightly, "STEPS", closeday.STEPS)


# The first installment of a 12,000.00 loan over 12 months from Jan 31 (equal installment):
# 938.71 principal + 151.20 interest, due Feb 28.
FIRST_DUE = date(2026, 2, 28)
FIRST_INSTALLMENT = D("1089.91")


def pay(loan: Loan, on: date, amount: str) -> None:
    services.payment_post(
        loan=loan, amount=D(amount), value_date=on, kind="regular", channel="app", idempotency_key=f"{loan.pk}-{on}"
    )


@pytest.fixture
def other_borrower_loan(product: Product) -> Callable[..., Loan]:
    """A loan of a borrower of its own (cases count borrowers)."""
    count = iter(range(1, 100))

    def make(disbursed_on: date = date(2026, 1, 31)) -> Loan:
        n = next(count)
        borrower = services.borrower_register(
            name=f"李{n}", national_id=f"11010119900101{n:04d}", phones=[{"number": f"1390000{n:04d}"}]
        )
        line = services.credit_line_open(borrower=borrower, limit=D("100000.00"))
        return services.loan_originate(
            credit_line=line,
            product=product,
            principal=D("12000.00"),
            term=12,
            method="equal_installment",
            disbursed_on=disbursed_on,
        )

    return make


@pytest.fixture
def late_book(make_loan: Callable[..., Loan], other_borrower_loan: Callable[..., Loan]) -> dict[str, Loan]:
    """Closed through Mar 6: loans paid 5 days late, 2 days late (inside grace) and on time, one unpaid.

    Under the default policy (3 grace days, penalty from the due date) the late payer was
    charged 938.71 x 5 days x 0.000675 = 3.17 and the unpaid one owes 938.71 x 6 x 0.000675
    = 3.80, overdue since its grace ended on Mar 3.
    """
    late, unpaid, on_time, two_days_late = make_loan(), *(other_borrower_loan() for _ in range(3))
    pay(on_time, FIRST_DUE, str(FIRST_INSTALLMENT))
    pay(two_days_late, date(2026, 3, 2), str(FIRST_INSTALLMENT))
    nightly.close_days(as_of=date(2026, 3, 4))
    pay(late, date(2026, 3, 5), "1093.08")  # 1089.91 + 3.17 penalty
    nightly.close_days(as_of=date(2026, 3, 6))
    return {"late": late, "unpaid": unpaid, "on_time": on_time, "two_days_late": two_days_late}


def stored_measures(as_of: date, window_start: date) -> Measures:
    """The book as close of day stored it, computed straight from the loan and installment tables."""
    delinquent = Loan.objects.filter(status="active", dpd__gt=0)
    overdue = delinquent.filter(in_grace=False)
    penalty = sum(
        Installment.objects.filter(due_date__range=(window_start, as_of)).values_list("penalty_accrued", flat=True),
        D("0.00"),
    )
    return Measures(
        loans_in_grace=delinquent.filter(in_grace=True).count(),
        loans_overdue=overdue.count(),
        bureau_reportable=overdue.filter(dpd__gt=30, overdue_amount__gt=D("1.00")).count(),
        cases_to_open=overdue.filter(grace_end__lt=as_of).values("borrower_id").distinct().count(),
        penalty_income=penalty,
    )


def seven_day_draft(product: Product | None = None, **rules: object) -> PolicyDraft:
    return PolicyDraft(**{"product": product, "effective_from": date(2026, 3, 7), "grace_days": 7, **rules})


# -- a policy draft ---------------------------------------------------------------------------


def test_a_longer_grace_puts_the_unpaid_loan_back_in_grace_and_drops_both_penalties(
    late_book: dict[str, Loan],
) -> None:
    preview = grace_policy_simulate(draft=seven_day_draft())
    assert (preview.as_of, preview.window_start) == (date(2026, 3, 6), date(2025, 12, 7))
    assert preview.total.in_force == Measures(0, 1, 0, 1, D("6.97"))
    # Grace to Mar 7: the unpaid loan is in grace on Mar 6, the late payer paid inside it.
    assert preview.total.draft == Measures(1, 0, 0, 0, D("0.00"))
    assert preview.total.difference == Measures(1, -1, 0, -1, D("-6.97"))
    # The loan paid inside both graces replays alike under both: it is not replayed.
    assert (preview.loans_replayed, preview.loans_changed) == (2, 2)


def test_a_shorter_grace_makes_a_payment_two_days_late_short_by_its_penalty(late_book: dict[str, Loan]) -> None:
    preview = grace_policy_simulate(draft=PolicyDraft(product=None, effective_from=date(2026, 3, 7), grace_days=1))
    # Grace to Mar 1: paid Mar 2, it owes 938.71 x 2 x 0.000675 = 1.27 penalty, which the payment
    # covers first, leaving 1.27 of principal unpaid (over the 1.00 tolerance): overdue, 6 days past due.
    assert preview.total.difference == Measures(0, 1, 0, 1, D("1.27"))
    # Replayed: the three paid or unpaid after Mar 1. Changed: that one, and the unpaid loan's grace end.
    assert (preview.loans_replayed, preview.loans_changed) == (3, 2)


def test_the_in_force_column_is_the_book_close_of_day_stored(late_book: dict[str, Loan]) -> None:
    """The proof the replay is right: the in-force side, replayed, equals the stored book."""
    preview = grace_policy_simulate(draft=seven_day_draft(arrears_tolerance=D("2000.00")))
    assert preview.total.in_force == stored_measures(preview.as_of, preview.window_start)
    [row] = preview.products
    assert row.in_force == preview.total.in_force


def test_a_higher_tolerance_makes_the_unpaid_installment_no_delinquency(late_book: dict[str, Loan]) -> None:
    # 1,089.91 unpaid is within a 2,000.00 tolerance: no days past due at all, no penalty.
    preview = grace_policy_simulate(
        draft=PolicyDraft(product=None, effective_from=date(2026, 3, 7), arrears_tolerance=D("2000.00"))
    )
    # Penalty still runs past grace end on what is unpaid (lending/engine.py): 3.17 + 3.80.
    assert preview.total.draft == Measures(0, 0, 0, 0, D("6.97"))


def test_penalty_from_grace_end_charges_only_the_days_after_it(late_book: dict[str, Loan]) -> None:
    preview = grace_policy_simulate(
        draft=PolicyDraft(product=None, effective_from=date(2026, 3, 7), penalty_start="grace_end")
    )
    # Late payer: Mar 3 -> Mar 5 = 2 days, 938.71 x 2 x 0.000675 = 1.27; unpaid: 3 days = 1.90.
    assert preview.total.draft.penalty_income == D("3.17")
    assert preview.total.difference.penalty_income == D("-3.80")


def test_a_draft_for_another_product_changes_nothing_here(late_book: dict[str, Loan], product: Product) -> None:
    other = Product.objects.create(code="other", name="Other", methods=["bullet"], terms=[30])
    preview = grace_policy_simulate(draft=seven_day_draft(product=other))
    assert preview.loans_replayed == 0
    assert preview.total.difference == Measures()
    assert [row.product for row in preview.products] == [product, other]
    assert preview.products[1].in_force == Measures()


def test_a_product_version_in_force_outranks_an_all_products_draft(
    late_book: dict[str, Loan], product: Product
) -> None:
    services.grace_policy_create(product=product, effective_from=date(2026, 3, 7), grace_days=3)
    GracePolicy.objects.filter(product=product).update(effective_from=date(2026, 1, 1))
    assert grace_policy_simulate(draft=seven_day_draft()).loans_replayed == 0
    assert grace_policy_simulate(draft=seven_day_draft(product=product)).total.difference.loans_overdue == -1


def test_a_draft_dated_in_the_closed_past_is_refused(late_book: dict[str, Loan]) -> None:
    with pytest.raises(DomainError) as refused:
        grace_policy_simulate(draft=PolicyDraft(product=None, effective_from=date(2026, 3, 6), grace_days=7))
    assert (refused.value.code, refused.value.field) == ("date_in_closed_past", "effective_from")


def test_no_preview_while_close_of_day_runs(late_book: dict[str, Loan]) -> None:
    JobRun.objects.create(step="lending.day_state", business_date=date(2026, 3, 7), status="running")
    with pytest.raises(DomainError) as refused:
        grace_policy_simulate(draft=seven_day_draft())
    assert (refused.value.code, refused.value.status) == ("close_of_day_running", 409)


# -- bureau reporting and cases -----------------------------------------------------------------


@pytest.fixture
def long_overdue_book(make_loan: Callable[..., Loan], other_borrower_loan: Callable[..., Loan]) -> dict[str, Loan]:
    """Closed through Apr 5: 36 days past due (due Feb 28) and 25 days past due (due Mar 11), unpaid."""
    loans = {"dpd36": make_loan(), "dpd25": other_borrower_loan(disbursed_on=date(2026, 2, 11))}
    nightly.close_days(as_of=date(2026, 4, 5))
    assert sorted(Loan.objects.values_list("dpd", flat=True)) == [25, 36]
    return loans


def test_bureau_reportable_accounts_follow_the_drafts_threshold(long_overdue_book: dict[str, Loan]) -> None:
    """Reportable: more than the threshold days past due (36 and 25 here), past grace, owing over tolerance."""
    found = {}
    for report_after in (20, 30, 35, 36, 40):
        draft = PolicyDraft(product=None, effective_from=date(2026, 4, 6), bureau_report_after_days=report_after)
        preview = grace_policy_simulate(draft=draft)
        assert preview.loans_replayed == 0  # the grace terms are unchanged: nothing to replay
        assert preview.total.in_force.bureau_reportable == 1
        found[report_after] = preview.total.draft.bureau_reportable
    assert found == {20: 2, 30: 1, 35: 1, 36: 0, 40: 0}


def test_a_later_case_opening_leaves_borrowers_without_a_case(long_overdue_book: dict[str, Loan]) -> None:
    # Grace ended Mar 3 (33 days before Apr 5) and Mar 14 (22 days before).
    draft = PolicyDraft(product=None, effective_from=date(2026, 4, 6), case_open_after_days=30)
    preview = grace_policy_simulate(draft=draft)
    assert (preview.total.in_force.cases_to_open, preview.total.draft.cases_to_open) == (2, 1)


def test_the_in_force_counts_are_what_the_bureau_and_the_night_produce(
    make_loan: Callable[..., Loan], other_borrower_loan: Callable[..., Loan], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview, collections/bureau.py and collections/cases.py apply one rule (lending/grace_rules.py).

    Closed through the month end Mar 31 with lending's steps and the cases step, under a
    version reporting after 15 days and opening cases 20 days after grace end: unpaid, one
    loan is 31 days past due (grace ended Mar 3) and one 20 (grace ended Mar 14).
    """
    services.grace_policy_create(
        product=None, effective_from=date(2026, 1, 1), bureau_report_after_days=15, case_open_after_days=20
    )
    make_loan(), other_borrower_loan(disbursed_on=date(2026, 2, 11))
    monkeypatch.setattr(nightly, "STEPS", [*closeday.STEPS, CASES_STEP])
    nightly.close_days(as_of=date(2026, 3, 31))
    in_force = grace_policy_simulate(draft=seven_day_draft(effective_from=date(2026, 4, 1))).total.in_force

    snapshots = list(LoanMonthSnapshot.objects.filter(month_end=date(2026, 3, 31), dpd__gt=0).select_related("loan"))
    over_threshold = [s for s in snapshots if bureau._over_threshold(s, {})]
    assert in_force.bureau_reportable == len(bureau._past_grace(over_threshold)) == 2
    assert in_force.cases_to_open == Case.objects.filter(status="open").count() == 1


# -- an incident window draft -----------------------------------------------------------------------


def test_an_incident_window_moves_its_due_dates_loans_back_into_grace(late_book: dict[str, Loan]) -> None:
    draft = WindowDraft(product=None, start=date(2026, 2, 27), end=date(2026, 3, 1), extra_grace_days=5)
    preview = grace_policy_simulate(draft=draft)
    # Grace end Feb 28 + 3 + 5 = Mar 8: the unpaid loan is in grace, neither penalty is charged.
    assert preview.total.difference == Measures(1, -1, 0, -1, D("-6.97"))


def test_saving_the_window_makes_the_book_what_the_draft_column_said(late_book: dict[str, Loan]) -> None:
    draft = WindowDraft(product=None, start=date(2026, 2, 27), end=date(2026, 3, 1), extra_grace_days=5)
    preview = grace_policy_simulate(draft=draft)
    services.incident_window_create(
        product=None, start=draft.start, end=draft.end, extra_grace_days=5, reason="autodebit outage"
    )
    assert stored_measures(preview.as_of, preview.window_start) == preview.total.draft


def test_a_window_starting_before_the_last_90_days_widens_the_replay(late_book: dict[str, Loan]) -> None:
    draft = WindowDraft(product=None, start=date(2025, 11, 1), end=date(2026, 3, 1), extra_grace_days=5)
    assert grace_policy_simulate(draft=draft).window_start == date(2025, 11, 1)


def test_a_window_starting_years_back_looks_only_at_the_due_dates_the_book_holds(
    late_book: dict[str, Loan], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not at every calendar day since its start: 2000-01-01 would be ~9,600 days per product."""
    looked_up: list[date] = []
    terms = GraceBook.engine_terms
    monkeypatch.setattr(GraceBook, "engine_terms", lambda book, due: looked_up.append(due) or terms(book, due))
    draft = WindowDraft(product=None, start=date(2000, 1, 1), end=date(2026, 3, 1), extra_grace_days=5)
    preview = grace_policy_simulate(draft=draft)
    assert preview.window_start == date(2000, 1, 1)
    assert preview.total.difference == Measures(1, -1, 0, -1, D("-6.97"))  # as the window from Feb 27
    assert len(looked_up) < 200  # a day-by-day walk looks up over 19,000


def test_a_window_date_outside_the_bounds_is_refused(late_book: dict[str, Loan]) -> None:
    with pytest.raises(DomainError) as refused:
        grace_policy_simulate(
            draft=WindowDraft(product=None, start=date(1, 1, 1), end=date(2026, 3, 1), extra_grace_days=5)
        )
    assert (refused.value.code, refused.value.field) == ("invalid_window_date", "start")


def test_a_window_outside_the_book_replays_nothing(late_book: dict[str, Loan]) -> None:
    draft = WindowDraft(product=None, start=date(2026, 3, 10), end=date(2026, 3, 20), extra_grace_days=5)
    preview = grace_policy_simulate(draft=draft)
    assert (preview.loans_replayed, preview.total.difference) == (0, Measures())


# -- nothing is written -----------------------------------------------------------------------------------


def test_a_preview_leaves_the_database_unchanged(late_book: dict[str, Loan]) -> None:
    def counts() -> tuple[int, ...]:
        return tuple(
            model.objects.count() for model in (GracePolicy, IncidentWindow, AuditLog, BucketHistory, Installment)
        )

    before = (book_digest(), counts())
    grace_policy_simulate(draft=seven_day_draft(penalty_start="grace_end", arrears_tolerance=D("5.00")))
    grace_policy_simulate(draft=WindowDraft(product=None, start=FIRST_DUE, end=FIRST_DUE, extra_grace_days=9))
    assert (book_digest(), counts()) == before


# -- the API ---------------------------------------------------------------------------------------------


def simulate(user: User, body: dict[str, object]):  # type: ignore[no-untyped-def]
    return client_for(user).post(reverse("api-grace-policies-simulate"), body, content_type="application/json")


def test_the_api_answers_the_comparison(late_book: dict[str, Loan], users: dict[str, User], product: Product) -> None:
    response = simulate(users["admin"], {"effective_from": "2026-03-07", "grace_days": 7})
    assert response.status_code == 200
    body = response.json()
    assert (body["kind"], body["as_of"], body["window_start"], body["loans_replayed"]) == (
        "policy",
        "2026-03-06",
        "2025-12-07",
        2,
    )
    assert body["total"]["difference"] == {
        "loans_in_grace": 1,
        "loans_overdue": -1,
        "bureau_reportable": 0,
        "cases_to_open": -1,
        "penalty_income": "-6.97",
    }
    assert body["total"]["product"] is None
    assert [(p["product"], p["product_code"]) for p in body["products"]] == [(product.pk, "jiebei")]
    assert body["products"][0]["in_force"]["penalty_income"] == "6.97"


def test_the_api_previews_an_incident_window(late_book: dict[str, Loan], users: dict[str, User]) -> None:
    response = simulate(
        users["admin"],
        {"kind": "incident_window", "start": "2026-02-27", "end": "2026-03-01", "extra_grace_days": 5},
    )
    assert response.status_code == 200
    assert response.json()["total"]["draft"]["loans_in_grace"] == 1


@pytest.mark.parametrize("role", ["risk_officer", "collector", "collections_supervisor"])
def test_the_api_is_for_admins_only(users: dict[str, User], role: str) -> None:
    assert simulate(users[role], {"effective_from": "2026-12-01"}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"effective_from": "2026-12-01", "grace_days": 31}, "grace_days"),
        ({"effective_from": "2026-12-01", "arrears_tolerance": "-1.00"}, "arrears_tolerance"),
        ({"grace_days": 5}, "effective_from"),
        ({"kind": "incident_window", "start": "2026-03-02", "end": "2026-03-01", "extra_grace_days": 5}, "end"),
        (
            {"kind": "incident_window", "start": "2026-03-01", "end": "2026-03-01", "extra_grace_days": 0},
            "extra_grace_days",
        ),
        ({"kind": "rule"}, "kind"),
        # An absurd window date: a 400, not a replay from year 1 (or a typo a millennium ahead).
        ({"kind": "incident_window", "start": "0001-01-01", "end": "0001-01-02", "extra_grace_days": 3}, "start"),
        ({"kind": "incident_window", "start": "1999-12-31", "end": "2026-03-01", "extra_grace_days": 3}, "start"),
        ({"kind": "incident_window", "start": "9999-12-30", "end": "9999-12-31", "extra_grace_days": 3}, "start"),
    ],
)
def test_the_api_refuses_a_bad_draft_naming_the_field(
    users: dict[str, User], body: dict[str, object], field: str
) -> None:
    response = simulate(users["admin"], body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_the_api_refuses_a_draft_in_the_closed_past(late_book: dict[str, Loan], users: dict[str, User]) -> None:
    response = simulate(users["admin"], {"effective_from": "2026-03-06"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "date_in_closed_past"


# -- the page -------------------------------------------------------------------------------------------


def test_the_page_is_for_admins_only(users: dict[str, User]) -> None:
    assert client_for(users["risk_officer"]).get(reverse("grace_preview")).status_code == 403


def test_the_page_starts_from_the_policy_in_force(late_book: dict[str, Loan], users: dict[str, User]) -> None:
    response = client_for(users["admin"]).get(reverse("grace_preview"))
    assert response.status_code == 200
    form = response.context["form"]
    assert (form["grace_days"].value(), form["effective_from"].value()) == (3, date(2026, 11, 23))
    assert response.context["preview"] is None


def test_the_page_shows_the_comparison_and_its_definitions(late_book: dict[str, Loan], users: dict[str, User]) -> None:
    query = {"kind": "policy", "preview": "1", "effective_from": "2026-03-07", "grace_days": "7"}
    query |= {"penalty_start": "due_date", "arrears_tolerance": "1.00", "bureau_report_after_days": "30"}
    query |= {"cooling_off_days": "30", "case_open_after_days": "0"}
    response = client_for(users["admin"]).get(reverse("grace_preview"), query)
    assert response.status_code == 200
    preview: GracePreview = response.context["preview"]
    assert preview.total.difference.penalty_income == D("-6.97")
    html = response.content.decode()
    assert "-6.97" in html and "Save this policy" in html
    assert "Penalty interest charged, net of waivers" in html


def test_the_page_shows_a_bad_draft_beside_its_field(late_book: dict[str, Loan], users: dict[str, User]) -> None:
    query = {"kind": "incident_window", "preview": "1", "start": "2026-03-02", "end": "2026-03-01"}
    response = client_for(users["admin"]).get(reverse("grace_preview"), query | {"extra_grace_days": "5"})
    assert response.status_code == 200
    assert response.context["form"].errors["end"] == ["The window ends before it starts."]


def test_the_page_refuses_an_absurd_window_start_beside_its_field(
    late_book: dict[str, Loan], users: dict[str, User]
) -> None:
    query = {"kind": "incident_window", "preview": "1", "start": "0001-01-01", "end": "0001-01-02"}
    response = client_for(users["admin"]).get(reverse("grace_preview"), query | {"extra_grace_days": "3"})
    assert response.status_code == 200
    assert response.context["preview"] is None
    assert response.context["form"].errors["start"] == ["Must lie between 2000-01-01 and 2027-11-23."]


@pytest.fixture
def marked_translations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message the view translates comes back marked, so a raw English one shows."""
    monkeypatch.setattr(views, "_", lambda message: f"[zh] {message}")


def policy_query(effective_from: str) -> dict[str, str]:
    query = {"kind": "policy", "preview": "1", "effective_from": effective_from, "grace_days": "7"}
    query |= {"penalty_start": "due_date", "arrears_tolerance": "1.00", "bureau_report_after_days": "30"}
    return query | {"cooling_off_days": "30", "case_open_after_days": "0"}


def test_the_page_translates_a_refusal(
    late_book: dict[str, Loan], users: dict[str, User], marked_translations: None
) -> None:
    JobRun.objects.create(step="lending.day_state", business_date=date(2026, 3, 7), status="running")
    response = client_for(users["admin"]).get(reverse("grace_preview"), policy_query("2026-03-07"))
    assert response.context["error"] == "[zh] Close of day is running: preview again once it is done."


def test_the_page_translates_a_refusal_beside_its_field(
    late_book: dict[str, Loan], users: dict[str, User], marked_translations: None
) -> None:
    response = client_for(users["admin"]).get(reverse("grace_preview"), policy_query("2026-03-06"))
    assert response.context["form"].errors["effective_from"] == [
        "[zh] A policy's effective date must be after the last closed business day (2026-03-06): "
        "the past is not rewritten."
    ]


def test_the_api_keeps_the_english_refusal(late_book: dict[str, Loan], users: dict[str, User]) -> None:
    message = simulate(users["admin"], {"effective_from": "2026-03-06"}).json()["error"]["message"]
    assert message.startswith("A policy's effective date must be after the last closed business day (2026-03-06)")


def test_saving_from_the_page_creates_the_policy_with_its_audit(
    late_book: dict[str, Loan], users: dict[str, User]
) -> None:
    body = {"kind": "policy", "effective_from": "2026-03-07", "grace_days": "7", "penalty_start": "due_date"}
    body |= {"arrears_tolerance": "1.00", "bureau_report_after_days": "30", "cooling_off_days": "30"}
    response = client_for(users["admin"]).post(
        reverse("grace_preview"), body | {"case_open_after_days": "0"}, follow=True
    )
    policy = GracePolicy.objects.get(effective_from=date(2026, 3, 7))
    assert (policy.product, policy.grace_days, policy.created_by) == (None, 7, users["admin"])
    assert AuditLog.objects.filter(action="grace_policy.create").count() == 1
    assert (
        f"Saved grace policy version #{policy.pk} for all products, in force from 2026-03-07"
        in response.content.decode()
    )
    # The installments due from then on took its terms.
    assert late_book["late"].installments.get(seq=2).grace_end == date(2026, 3, 31) + timedelta(days=7)


def test_saving_a_window_without_a_reason_says_why(late_book: dict[str, Loan], users: dict[str, User]) -> None:
    body = {"kind": "incident_window", "start": "2026-02-27", "end": "2026-03-01", "extra_grace_days": "5"}
    response = client_for(users["admin"]).post(reverse("grace_preview"), body)
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["Say why the window is declared."]
    assert not IncidentWindow.objects.exists()
