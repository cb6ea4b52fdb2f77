"""The web desk's lending pages: loan search, the loan page and the grace-policy preview."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from riskdesk.core import access, roles
from riskdesk.core.access import role_required
from riskdesk.core.dates import business_today
from riskdesk.core.errors import DomainError
from riskdesk.lending import grace_preview as simulation
from riskdesk.lending import selectors, services, web_selectors
from riskdesk.lending.forms import GracePolicyDraftForm, IncidentWindowDraftForm, LoanSearchForm, PayoffQuoteForm
from riskdesk.lending.models import GracePolicy, Loan

PAGE_SIZE = 50


# The desk's staff only: an agency user sees its placed cases and nothing else of the book.
@role_required(*roles.ALL_ROLES)
def loan_search(request: HttpRequest) -> HttpResponse:
    form = LoanSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    loans = web_selectors.loan_search(
        visible_to=request.user,
        query=filters.get("q", ""),
        status=filters.get("status", ""),
        bucket=filters.get("bucket", ""),
        product=filters.get("product"),
        delinquency=filters.get("delinquency", ""),
    )
    page = Paginator(loans, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "lending/loan_search.html", {"form": form, "page": page, "query_string": query.urlencode()})


@role_required(*roles.ALL_ROLES)
def loan_detail(request: HttpRequest, loan_id: int) -> HttpResponse:
    try:
        loan = web_selectors.loan_for_page(loan_id, visible_to=request.user)
    except Loan.DoesNotExist:
        raise Http404 from None
    quote_form = PayoffQuoteForm(request.GET if "quote_on" in request.GET else {"quote_on": business_today()})
    quote, quote_error = None, ""
    if loan.status == Loan.Status.ACTIVE and quote_form.is_valid():
        try:
            quote = selectors.payoff_quote(loan, quote_form.cleaned_data["quote_on"])
        except DomainError as error:
            quote_error = error.message
    return render(
        request,
        "lending/loan_detail.html",
        {
            "page": web_selectors.loan_page(loan),
            "quote_form": quote_form,
            "quote": quote,
            "quote_error": quote_error,
            "may_reveal": roles.may_see_pii(request.user),
            "reveal_url": reverse("loan_reveal", args=[loan.pk]),
        },
    )


@require_POST
@role_required(*roles.ALL_ROLES)
def pii_reveal(request: HttpRequest, loan_id: int) -> JsonResponse:
    """The loan page's reveal of one of its borrower's values: the case page's rule, answer and audit row."""
    try:
        loan = web_selectors.loan_for_page(loan_id, visible_to=request.user)
    except Loan.DoesNotExist:
        raise Http404 from None
    return access.pii_reveal_answer(request, borrower=loan.borrower, default_reason=f"loan #{loan.pk}")


# The preview's measures in the order the page lists them, each with its one-line definition.
PREVIEW_MEASURES = [
    (
        "loans_in_grace",
        _("Loans in grace"),
        _(
            "Active loans more than 0 days past due on the closed day whose oldest unpaid installment "
            "(over the arrears tolerance) has not reached its grace end."
        ),
    ),
    (
        "loans_overdue",
        _("Loans overdue"),
        _(
            "Active loans more than 0 days past due on the closed day, past the grace end of their oldest unpaid installment."
        ),
    ),
    (
        "bureau_reportable",
        _("Reportable to the bureau"),
        _(
            "Overdue loans (past grace) more than the policy's bureau days past due and owing more than its "
            "arrears tolerance, on the closed day; the prior notice is left aside."
        ),
    ),
    (
        "cases_to_open",
        _("Borrowers needing a case"),
        _(
            "Borrowers with an active loan past its grace end by more than the policy's days before a case "
            "opens, on the closed day (a borrower with several such loans counts once)."
        ),
    ),
    (
        "penalty_income",
        _("Penalty income"),
        _(
            "Penalty interest charged, net of waivers, paid or not, on installments due from the window's first "
            "day to the closed day: the installments the draft governs."
        ),
    ),
]
DRAFT_FORMS = {
    simulation.POLICY: (GracePolicyDraftForm, simulation.PolicyDraft),
    simulation.INCIDENT_WINDOW: (IncidentWindowDraftForm, simulation.WindowDraft),
}


@role_required(roles.ADMIN)
def grace_preview(request: HttpRequest) -> HttpResponse:
    """Preview a draft grace policy version or incident window on the book (GET), then save it (POST)."""
    data = request.POST if request.method == "POST" else request.GET
    kind = data.get("kind") if data.get("kind") in DRAFT_FORMS else simulation.POLICY
    form_class, draft_class = DRAFT_FORMS[kind]
    bound = request.method == "POST" or "preview" in request.GET
    form = form_class(data if bound else None, initial=_draft_initial(kind))
    preview, error = None, ""
    if bound and form.is_valid():
        try:
            if request.method == "POST":
                return _draft_save(request, kind, form.cleaned_data)
            preview = simulation.grace_policy_simulate(draft=draft_class(**form.cleaned_data))
        except DomainError as refused:
            error = _refusal_text(refused)
            if refused.field in form.fields:
                form.add_error(refused.field, error)
                error = ""
    product = getattr(form, "cleaned_data", {}).get("product")
    return render(
        request,
        "lending/grace_preview.html",
        {
            "kind": kind,
            "form": form,
            "preview": preview,
            "error": error,
            "table": _preview_table(preview) if preview else [],
            "fields": _fields_beside_policy(form, simulation.policy_in_force(product, business_today())),
            "scope": product.code if product else gettext("all products"),
            "as_of": selectors.state_date(),
            "window_days": simulation.WINDOW_DAYS,
            "measures": PREVIEW_MEASURES,
        },
    )


def _refusal_text(refused: DomainError) -> str:
    """A refusal of the preview or its save in the admin's language (the API keeps the services' English).

    The known codes have their message here, word for word the services' English; another
    code falls back to the service's message.
    """
    texts = {
        "no_closed_day": _("No business day is closed yet: there is no book to compare on."),
        "as_of_not_closed": _("The book is as of the last closed day, %(closed)s."),
        "close_of_day_running": _("Close of day is running: preview again once it is done."),
        "date_in_closed_past": _(
            "A policy's effective date must be after the last closed business day (%(closed)s): "
            "the past is not rewritten."
        ),
        "policy_version_exists": _("A version with this effective date already exists."),
        "overlapping_window": _("Another incident window already covers part of these dates."),
        "reason_required": _("Say why the window is declared."),
        "invalid_grace_days": _("Grace days must be between 0 and 30."),
        "invalid_penalty_start": _("Penalty counts from 'due_date' or 'grace_end'."),
        "invalid_tolerance": _("The arrears tolerance cannot be negative."),
        "invalid_window": _("The window ends before it starts."),
        "invalid_extra_grace_days": _("Extra grace days must be between 1 and 30."),
        "invalid_window_date": _("A window's dates must lie between %(earliest)s and %(latest)s."),
    }
    if refused.code not in texts:
        return refused.message
    earliest, latest = simulation.date_bounds()
    closed = selectors.state_date()
    return str(texts[refused.code]) % {
        "closed": closed.isoformat() if closed else "",
        "earliest": earliest.isoformat(),
        "latest": latest.isoformat(),
    }


def _fields_beside_policy(form: forms.Form, policy: GracePolicy | None) -> list[tuple[forms.BoundField, str]]:
    """Each field of the draft with the value the version in force holds (blank for an incident window)."""
    shown: dict[str, str] = {}
    if policy is not None and isinstance(form, GracePolicyDraftForm):
        shown = {name: str(getattr(policy, name)) for name in (*GracePolicy.RULES, "note")}
        shown["effective_from"] = policy.effective_from.isoformat()
        shown["penalty_start"] = dict(form.fields["penalty_start"].choices)[policy.penalty_start]
    return [(form[name], shown.get(name, "")) for name in form.fields]


def _draft_initial(kind: str) -> dict[str, object]:
    """A new policy draft starts from the rules in force for every product, effective today."""
    if kind != simulation.POLICY:
        return {}
    policy = simulation.policy_in_force(None, business_today())
    rules = {name: getattr(policy, name) for name in GracePolicy.RULES} if policy else {}
    return {**rules, "effective_from": business_today()}


def _draft_save(request: HttpRequest, kind: str, draft: dict[str, object]) -> HttpResponse:
    """Save the previewed draft through the same services as the API's POST (each audits)."""
    scope = draft["product"].code if draft["product"] else gettext("all products")
    if kind == simulation.POLICY:
        policy = services.grace_policy_create(actor=request.user, **draft)
        messages.success(
            request,
            gettext(
                "Saved grace policy version #%(id)s for %(scope)s, in force from %(day)s: open installments due "
                "from then on now take its terms."
            )
            % {"id": policy.pk, "scope": scope, "day": policy.effective_from.isoformat()},
        )
    else:
        window = services.incident_window_create(actor=request.user, **draft)
        messages.success(
            request,
            gettext(
                "Declared incident window #%(id)s for %(scope)s, %(start)s to %(end)s, %(days)s extra grace days: "
                "loans with an installment due inside were replayed."
            )
            % {
                "id": window.pk,
                "scope": scope,
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "days": window.extra_grace_days,
            },
        )
    return redirect(f"{reverse('grace_preview')}?kind={kind}")


def _preview_table(preview: simulation.GracePreview) -> list[dict[str, object]]:
    """The comparison as the page lists it: the total, then each product, a line per measure."""
    groups = []
    for row in [preview.total, *preview.products]:
        lines = [
            {
                "name": name,
                "label": label,
                "in_force": getattr(row.in_force, name),
                "draft": getattr(row.draft, name),
                "difference": getattr(row.difference, name),
                "money": name == "penalty_income",
            }
            for name, label, _definition in PREVIEW_MEASURES
        ]
        groups.append({"product": row.product, "changed": row.changed, "lines": lines})
    return groups
