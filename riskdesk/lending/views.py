"""The web desk's lending pages: loan search and the loan page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from riskdesk.core.dates import business_today
from riskdesk.core.errors import DomainError
from riskdesk.lending import selectors, web_selectors
from riskdesk.lending.forms import LoanSearchForm, PayoffQuoteForm
from riskdesk.lending.models import Loan

PAGE_SIZE = 50


@login_required
def loan_search(request: HttpRequest) -> HttpResponse:
    form = LoanSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    loans = web_selectors.loan_search(
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


@login_required
def loan_detail(request: HttpRequest, loan_id: int) -> HttpResponse:
    try:
        loan = web_selectors.loan_for_page(loan_id)
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
        },
    )


def grace_preview(request: HttpRequest) -> HttpResponse:
    """The admin's preview of a draft grace policy or incident window (to be built)."""
    raise NotImplementedError
