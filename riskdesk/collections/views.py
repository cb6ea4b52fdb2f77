"""The collections desk's pages: a collector's queue and case page, the supervisor's team view.

Logging a contact attempt posts to the JSON API from the page (static/js/case.js); these
views draw the pages, hand out the next case, and carry the plain forms (promise,
arrangement request, supervisor decisions) to the services.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from riskdesk.collections import access, arrangements, compliance, fieldvisits, promises, selectors
from riskdesk.collections import cases as case_services
from riskdesk.collections.forms import (
    ArrangementRequestForm,
    AttemptForm,
    BulkReassignForm,
    CapForm,
    DecisionForm,
    PromiseForm,
)
from riskdesk.collections.models import Arrangement, Case, ContactAttempt, FieldVisit
from riskdesk.core import access as core_access
from riskdesk.core import roles
from riskdesk.core.access import role_required
from riskdesk.core.errors import DomainError
from riskdesk.core.vocabulary import label

SUPERVISING_ROLES = (roles.SUPERVISOR, roles.ADMIN)
# An approve or reject service bound to its object, taking the supervisor's note.
Decider = Callable[[str], object]


def case_to_act_on(request: HttpRequest, case_id: int) -> Case:
    case = access.case_for(request.user, case_id)
    if not access.may_act_on_case(request.user, case):
        raise PermissionDenied
    return case


def case_url(case: Case, anchor: str = "") -> str:
    return reverse("collections_case", args=[case.pk]) + (f"#{anchor}" if anchor else "")


# -- the collector ------------------------------------------------------------------------


@role_required(roles.COLLECTOR, roles.AGENCY)
def queue(request: HttpRequest) -> HttpResponse:
    """A collector's open cases by priority; an agency user's placed cases."""
    if roles.has_role(request.user, roles.COLLECTOR):
        cases = selectors.queue_for(request.user)
    else:
        cases = selectors.with_last_attempt(access.cases_visible_to(request.user))
    workload = selectors.workload_of(request.user) if roles.has_role(request.user, roles.COLLECTOR) else None
    return render(request, "collections/queue.html", {"cases": cases, "workload": workload})


@require_POST
@role_required(roles.COLLECTOR)
def case_next(request: HttpRequest) -> HttpResponse:
    """Hand the collector the next case of their queues, or say why there is none."""
    try:
        case = case_services.case_next(collector=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("collections_queue")
    if case is not None:
        return redirect(case_url(case))
    workload = selectors.workload_of(request.user)
    if workload.at_cap:
        messages.warning(
            request,
            _("You hold %(open)d open cases, your cap; close or hand back a case before taking another.")
            % {"open": workload.open_cases},
        )
    else:
        messages.info(request, _("No case is waiting in your queues."))
    return redirect("collections_queue")


@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = access.case_for(request.user, case_id)
    page = selectors.case_page(case)
    return render(
        request,
        "collections/case_detail.html",
        {
            "page": page,
            "may_act": access.may_act_on_case(request.user, case),
            "may_reveal": roles.may_see_pii(request.user),
            "reveal_url": reverse("collections_reveal", args=[case.pk]),
            "is_agency": roles.has_role(request.user, roles.AGENCY)
            and not roles.has_role(request.user, *roles.ALL_ROLES),
            "attempt_form": AttemptForm(),
            "message_templates": selectors.message_templates_for(case.borrower),
            "promise_form": PromiseForm(),
            "arrangement_form": ArrangementRequestForm(case=case),
            "rule_labels": {name: str(label(name)) for name in compliance.RULE_NAMES},
        },
    )


@login_required
def attempt_row(request: HttpRequest, case_id: int, attempt_id: int) -> HttpResponse:
    """One attempt drawn as a timeline entry, for the page to prepend after logging it."""
    case = access.case_for(request.user, case_id)
    try:
        attempt = selectors.attempt_for_case(case, attempt_id)
    except ContactAttempt.DoesNotExist:
        raise Http404 from None
    entry = selectors.TimelineEntry(attempt.at, "attempt", attempt)
    return render(request, "collections/_timeline_entry.html", {"entry": entry, "fresh": True})


@require_POST
@login_required
def pii_reveal(request: HttpRequest, case_id: int) -> JsonResponse:
    """Show one unmasked value to a role that may see PII, and audit that it was shown (and why).

    The same rule as the API's borrower reveal (riskdesk.core.access.pii_reveal); a refusal
    is answered in the API's error shape, so the page's script can say why.
    """
    case = access.case_for(request.user, case_id)
    return core_access.pii_reveal_answer(request, borrower=case.borrower, default_reason=f"case #{case.pk}", case=case)


@require_POST
@role_required(*roles.COLLECTIONS_STAFF)
def promise_create(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_to_act_on(request, case_id)
    form = PromiseForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(case_url(case, "promise"))
    try:
        promises.promise_create(case=case, actor=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Promise recorded."))
    return redirect(case_url(case, "promise"))


@require_POST
@role_required(*roles.COLLECTIONS_STAFF)
def arrangement_request(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_to_act_on(request, case_id)
    form = ArrangementRequestForm(request.POST, case=case)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return redirect(case_url(case, "arrangement"))
    cleaned = form.cleaned_data
    try:
        arrangements.arrangement_request(
            case=case,
            loan=case.loans.get(pk=cleaned["loan"]),
            kind=cleaned["kind"],
            months=cleaned["months"],
            reason=cleaned["reason"],
            actor=request.user,
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Arrangement requested; a supervisor will decide on it."))
    return redirect(case_url(case, "arrangement"))


def form_errors(form: Form) -> str:
    """A form's errors in one line for a flash message: "Amount: Enter a number."."""
    parts = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        prefix = f"{field.label}: " if field is not None and field.label else ""
        parts.append(prefix + " ".join(errors))
    return " ".join(parts)


# -- the supervisor -----------------------------------------------------------------------


@role_required(*SUPERVISING_ROLES)
def team(request: HttpRequest) -> HttpResponse:
    queue_code = request.GET.get("queue", "")
    assignee = request.GET.get("assignee", "")
    return render(
        request,
        "collections/team.html",
        {
            "queues": selectors.queue_counts(),
            "workloads": selectors.workloads(),
            "cases": selectors.team_cases(queue=queue_code, assignee=assignee),
            "collectors": selectors.collectors(),
            "approvals": selectors.approvals_pending(),
            "filter_queue": queue_code,
            "filter_assignee": assignee,
        },
    )


def back_to_team(request: HttpRequest, anchor: str = "") -> HttpResponse:
    """Back to the team page, keeping its filters (posted as `next_query`)."""
    query = request.POST.get("next_query", "")
    return redirect(reverse("collections_team") + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else ""))


@require_POST
@role_required(*SUPERVISING_ROLES)
def team_reassign(request: HttpRequest) -> HttpResponse:
    form = BulkReassignForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return back_to_team(request, "cases")
    collector = form.cleaned_data["collector"]
    try:
        moved = case_services.cases_reassign(
            case_ids=form.cleaned_data["case_ids"], collector=collector, actor=request.user
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            ngettext("Reassigned %(count)d case to %(name)s.", "Reassigned %(count)d cases to %(name)s.", moved)
            % {"count": moved, "name": collector.get_username()},
        )
    return back_to_team(request, "cases")


@require_POST
@role_required(*SUPERVISING_ROLES)
def collector_cap(request: HttpRequest, user_id: int) -> HttpResponse:
    collector = get_object_or_404(selectors.collectors(), pk=user_id)
    form = CapForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
        return back_to_team(request, "workloads")
    try:
        case_services.collector_cap_set(
            collector=collector, max_open_cases=form.cleaned_data["max_open_cases"], actor=request.user
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(name)s may now hold %(cap)d open cases.")
            % {"name": collector.get_username(), "cap": form.cleaned_data["max_open_cases"]},
        )
    return back_to_team(request, "workloads")


def decide(request: HttpRequest, approve: Decider, reject: Decider, done: str) -> HttpResponse:
    """Run an approve or reject service from a DecisionForm; a rejection needs a note."""
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors(form))
    elif not form.approved and not form.cleaned_data["note"].strip():
        messages.error(request, _("Say why when you reject."))
    else:
        try:
            approve(form.cleaned_data["note"]) if form.approved else reject(form.cleaned_data["note"])
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, done)
    return back_to_team(request, "approvals")


@require_POST
@role_required(*SUPERVISING_ROLES)
def arrangement_decide(request: HttpRequest, arrangement_id: int) -> HttpResponse:
    arrangement = get_object_or_404(Arrangement, pk=arrangement_id)
    return decide(
        request,
        approve=lambda note: arrangements.arrangement_approve(arrangement=arrangement, actor=request.user, note=note),
        reject=lambda note: arrangements.arrangement_reject(arrangement=arrangement, actor=request.user, note=note),
        done=_("Arrangement #%(id)d decided.") % {"id": arrangement.pk},
    )


@require_POST
@role_required(*SUPERVISING_ROLES)
def field_visit_decide(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = get_object_or_404(FieldVisit, pk=visit_id)
    return decide(
        request,
        approve=lambda note: fieldvisits.field_visit_approve(visit=visit, actor=request.user),
        reject=lambda note: fieldvisits.field_visit_reject(visit=visit, actor=request.user, note=note),
        done=_("Field visit #%(id)d decided.") % {"id": visit.pk},
    )


@require_POST
@role_required(*SUPERVISING_ROLES)
def write_off_review_decide(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_object_or_404(Case, pk=case_id)

    def run(approve: bool, note: str) -> None:
        case_services.case_write_off_review_decide(case=case, approve=approve, actor=request.user, reason=note)

    return decide(
        request,
        approve=lambda note: run(True, note),
        reject=lambda note: run(False, note),
        done=_("Write-off review of case #%(id)d decided.") % {"id": case.pk},
    )
