"""PII masking in every place a role may not see the full value, and unmasking as an audited action.

The values: national ID, phone, the autodebit card and the home address. Every page and
response masks them for every role (borrower API, loan page, case API, case page, admin);
admins and collections supervisors (roles.PII_ROLES) unmask one value by a reveal that
writes an audit row saying who and why. Free text people type (an attempt's note, a
complaint) shows its numbers masked to every role outside PII_ROLES.
"""

from __future__ import annotations

import io
import logging
import logging.config
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client
from django.urls import reverse

from riskdesk.collections import bureau
from riskdesk.collections.models import Case, ContactAttempt
from riskdesk.core import roles
from riskdesk.core.masking import PiiLogFilter, mask_text
from riskdesk.core.models import AuditLog
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, Loan, LoanMonthSnapshot
from tests.collections.test_api_permissions import afternoon_call, open_case, place

API = "/api/v1"
NATIONAL_ID, PHONE = "110101198507074321", "13912345678"
CARD, CARD_MASKED = "4539578763621486", "************1486"
ADDRESS, ADDRESS_MASKED = "北京市朝阳区建国路88号3单元", "北京市朝阳区****"
SECRETS = (NATIONAL_ID, PHONE, CARD, ADDRESS)
REGISTRATION = {
    "name": "赵六",
    "national_id": NATIONAL_ID,
    "phones": [{"number": PHONE, "label": "mobile"}],
    "address": ADDRESS,
    "bank_card": "4539 5787 6362 1486",
}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def person(db: None) -> Borrower:
    return services.borrower_register(
        name="赵六",
        national_id=NATIONAL_ID,
        phones=[{"number": PHONE, "label": "mobile"}],
        address=ADDRESS,
        bank_card=CARD,
    )


@pytest.fixture
def case(person: Borrower, users: dict[str, User], product: Any) -> Case:
    line = services.credit_line_open(borrower=person, limit=Decimal("50000.00"))
    loan = services.loan_originate(
        credit_line=line,
        product=product,
        principal=Decimal("6000.00"),
        term=6,
        method="equal_installment",
        disbursed_on=date(2026, 1, 31),
    )
    return open_case(person, loan, assigned_to=users[roles.COLLECTOR])


# -- the borrower API: masked for every role -------------------------------------------------------


def test_registering_a_borrower_keeps_the_card_digits_and_the_address_and_answers_masked(
    users: dict[str, User],
) -> None:
    """The admin's POST answered with the whole identity, unaudited (fixed: a reveal shows it)."""
    response = signed_in(users[roles.ADMIN]).post(f"{API}/borrowers/", REGISTRATION, "application/json")

    assert response.status_code == 201, response.content
    assert (response.json()["bank_card"], response.json()["address"]) == (CARD_MASKED, ADDRESS_MASKED)
    assert response.json()["pii_masked"] is True
    assert not any(secret in response.content.decode() for secret in SECRETS)
    assert Borrower.objects.values_list("bank_card", "address").get() == (CARD, ADDRESS)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("bank_card", "4539578763621487", "This card number fails its check digit (Luhn)."),
        ("bank_card", "45395787636", "A card number is 12 to 19 digits."),
        ("bank_card", "4539-5787-6362-148a", "A card number is 12 to 19 digits."),
        ("bank_card", "45395787636214861234", "A card number is 12 to 19 digits."),
        ("address", "北" * 301, "Ensure this field has no more than 300 characters."),
    ],
)
def test_a_bad_card_or_address_is_a_400_on_its_field_and_writes_nothing(
    users: dict[str, User], field: str, value: str, error: str
) -> None:
    response = signed_in(users[roles.ADMIN]).post(
        f"{API}/borrowers/", {**REGISTRATION, field: value}, "application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {field: [error]}
    assert not Borrower.objects.exists() and not AuditLog.objects.exists()


@pytest.mark.parametrize("role", [roles.ADMIN, roles.SUPERVISOR, roles.RISK_OFFICER, roles.COLLECTOR])
def test_the_borrower_api_masks_the_identity_for_every_role_and_audits_nothing(
    users: dict[str, User], case: Case, person: Borrower, role: str
) -> None:
    """Admins and supervisors read it whole with no audit row (fixed: they unmask by a reveal)."""
    audited = AuditLog.objects.count()

    body = signed_in(users[role]).get(f"{API}/borrowers/{person.pk}/").json()

    shown = (body["national_id"], body["bank_card"], body["address"], body["contact_points"][0]["value"])
    assert shown == ("110*************21", CARD_MASKED, ADDRESS_MASKED, "139****5678")
    assert (body["name"], body["pii_masked"]) == ("赵**", True)
    assert not any(secret in str(body) for secret in SECRETS)
    assert AuditLog.objects.count() == audited


# -- the case API and the case page: masked for every role --------------------------------------------


@pytest.mark.parametrize("role", [roles.ADMIN, roles.SUPERVISOR, roles.RISK_OFFICER, roles.COLLECTOR])
def test_the_case_api_masks_the_borrower_for_every_role(users: dict[str, User], case: Case, role: str) -> None:
    client = signed_in(users[role])

    detail = client.get(f"{API}/cases/{case.pk}/").json()
    listed = client.get(f"{API}/cases/").json()["results"]

    assert (detail["borrower"]["bank_card"], detail["borrower"]["address"]) == (CARD_MASKED, ADDRESS_MASKED)
    assert listed[0]["borrower_name"] == "赵**"
    assert not any(secret in str(detail) + str(listed) for secret in SECRETS)


@pytest.mark.parametrize(
    ("role", "reveal_button"),
    [(roles.SUPERVISOR, True), (roles.ADMIN, True), (roles.RISK_OFFICER, False), (roles.COLLECTOR, False)],
)
def test_the_case_page_shows_card_and_address_masked_with_a_reveal_for_pii_roles(
    users: dict[str, User], case: Case, role: str, reveal_button: bool
) -> None:
    page = signed_in(users[role]).get(reverse("collections_case", args=[case.pk])).content.decode()

    assert CARD_MASKED in page and ADDRESS_MASKED in page
    assert not any(secret in page for secret in SECRETS)
    assert ('data-field="bank_card" title=' in page) is reveal_button
    assert ('data-field="address" title=' in page) is reveal_button


@pytest.mark.parametrize(
    ("role", "reveal_button"),
    [(roles.SUPERVISOR, True), (roles.ADMIN, True), (roles.RISK_OFFICER, False), (roles.COLLECTOR, False)],
)
def test_the_loan_page_masks_the_borrower_for_every_role_with_a_reveal_for_pii_roles(
    users: dict[str, User], case: Case, role: str, reveal_button: bool
) -> None:
    """Admins and supervisors saw the loan page's identity whole, unaudited (fixed)."""
    loan = case.loans.get()

    page = signed_in(users[role]).get(reverse("loan_detail", args=[loan.pk])).content.decode()

    assert CARD_MASKED in page and ADDRESS_MASKED in page and "110*************21" in page
    assert not any(secret in page for secret in SECRETS)
    reveal_url = reverse("loan_reveal", args=[loan.pk])
    assert (f'data-url="{reveal_url}" data-field="bank_card"' in page) is reveal_button
    assert (f'data-url="{reveal_url}" data-field="national_id"' in page) is reveal_button
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


def test_the_loan_page_reveals_the_card_to_an_admin_with_the_loan_as_the_reason(
    users: dict[str, User], case: Case
) -> None:
    loan = case.loans.get()

    response = signed_in(users[roles.ADMIN]).post(reverse("loan_reveal", args=[loan.pk]), {"field": "bank_card"})

    assert response.json() == {"field": "bank_card", "value": CARD}
    row = AuditLog.objects.get(action="pii.reveal")
    assert (row.actor, row.entity_id, row.reason, row.after) == (
        users[roles.ADMIN],
        str(case.borrower_id),
        f"loan #{loan.pk}",
        {"field": "bank_card", "case": None},
    )


@pytest.mark.parametrize("role", [roles.COLLECTOR, roles.RISK_OFFICER])
def test_the_loan_page_refuses_a_reveal_to_other_roles_in_the_error_shape(
    users: dict[str, User], case: Case, role: str
) -> None:
    loan = case.loans.get()

    response = signed_in(users[role]).post(reverse("loan_reveal", args=[loan.pk]), {"field": "national_id"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_permitted"
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


# -- unmasking: one value, audited with who and why ------------------------------------------------------


def test_a_supervisor_reveals_the_card_through_the_api_and_one_audit_row_says_who_and_why(
    users: dict[str, User], person: Borrower
) -> None:
    response = signed_in(users[roles.SUPERVISOR]).post(
        f"{API}/borrowers/{person.pk}/reveal/",
        {"field": "bank_card", "reason": "autodebit bounced; confirming the card"},
        "application/json",
    )

    assert response.status_code == 200
    assert response.json() == {"field": "bank_card", "value": CARD}
    row = AuditLog.objects.get(action="pii.reveal")
    assert (row.actor, row.entity_type, row.entity_id, row.reason) == (
        users[roles.SUPERVISOR],
        "lending.borrower",
        str(person.pk),
        "autodebit bounced; confirming the card",
    )
    assert row.after == {"field": "bank_card", "case": None}
    assert CARD not in str(row.after) + row.reason


@pytest.mark.parametrize("role", [roles.COLLECTOR, roles.RISK_OFFICER])
def test_a_refused_reveal_says_why_and_writes_nothing(users: dict[str, User], person: Borrower, role: str) -> None:
    response = signed_in(users[role]).post(
        f"{API}/borrowers/{person.pk}/reveal/", {"field": "national_id", "reason": "curious"}, "application/json"
    )

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "not_permitted",
        "message": "Your role may not see a borrower's personal data unmasked.",
        "fields": {},
    }
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


@pytest.mark.parametrize(
    ("body", "status", "fields"),
    [
        ({"field": "bank_card"}, 400, {"reason": ["This field is required."]}),
        ({"field": "password", "reason": "x"}, 400, {"field": ["This value does not match the required pattern."]}),
        ({"field": "point:999999", "reason": "x"}, 404, {"field": ["The borrower has no point:999999."]}),
    ],
)
def test_a_reveal_without_a_reason_or_of_an_unknown_field_is_refused_and_not_audited(
    users: dict[str, User], person: Borrower, body: dict[str, str], status: int, fields: dict[str, list[str]]
) -> None:
    response = signed_in(users[roles.ADMIN]).post(f"{API}/borrowers/{person.pk}/reveal/", body, "application/json")

    assert response.status_code == status
    assert response.json()["error"]["fields"] == fields
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


def test_the_case_page_reveals_the_address_to_a_supervisor_with_the_case_as_the_reason(
    users: dict[str, User], case: Case
) -> None:
    response = signed_in(users[roles.SUPERVISOR]).post(
        reverse("collections_reveal", args=[case.pk]), {"field": "address"}
    )

    assert response.json() == {"field": "address", "value": ADDRESS}
    row = AuditLog.objects.get(action="pii.reveal")
    assert (row.reason, row.after) == (f"case #{case.pk}", {"field": "address", "case": case.pk})


def test_the_case_page_refuses_a_collectors_reveal_in_the_error_shape(users: dict[str, User], case: Case) -> None:
    response = signed_in(users[roles.COLLECTOR]).post(
        reverse("collections_reveal", args=[case.pk]), {"field": "bank_card"}
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_permitted"
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


# -- free text: an attempt's note and message, a complaint -------------------------------------------------

NOTE = f"borrower asked us to call {PHONE} instead; ID {NATIONAL_ID}"
NOTE_MASKED = "borrower asked us to call 139****5678 instead; ID 110*************21"


@pytest.fixture
def noted_attempt(users: dict[str, User], case: Case, any_attempt_time: None) -> int:
    logged = signed_in(users[roles.COLLECTOR]).post(
        f"{API}/cases/{case.pk}/contact-attempts/", {**afternoon_call(case), "note": NOTE}, "application/json"
    )
    assert logged.status_code == 201, logged.content
    return logged.json()["id"]


@pytest.mark.parametrize(
    ("role", "whole"),
    [(roles.ADMIN, True), (roles.SUPERVISOR, True), (roles.RISK_OFFICER, False), (roles.COLLECTOR, False)],
)
def test_the_attempt_list_shows_a_notes_numbers_whole_only_to_pii_roles(
    users: dict[str, User], case: Case, noted_attempt: int, role: str, whole: bool
) -> None:
    """Collectors, agency users and risk officers read notes and messages raw (fixed)."""
    ContactAttempt.objects.filter(pk=noted_attempt).update(message=f"sms to {PHONE} queued")

    listed = signed_in(users[role]).get(f"{API}/cases/{case.pk}/contact-attempts/").json()["results"]

    attempt = next(row for row in listed if row["id"] == noted_attempt)
    if whole:
        assert (attempt["note"], attempt["message"]) == (NOTE, f"sms to {PHONE} queued")
    else:
        assert (attempt["note"], attempt["message"]) == (NOTE_MASKED, "sms to 139****5678 queued")


def test_the_agency_reads_a_placed_cases_notes_masked_and_the_case_api_masks_them_for_all(
    users: dict[str, User], case: Case, noted_attempt: int
) -> None:
    agent = User.objects.create_user(username="agent")
    agent.groups.add(Group.objects.get_or_create(name=roles.AGENCY)[0])
    place(case, agent)

    listed = signed_in(agent).get(f"{API}/cases/{case.pk}/contact-attempts/").json()["results"]
    detail = signed_in(users[roles.ADMIN]).get(f"{API}/cases/{case.pk}/").json()

    assert [row["note"] for row in listed] == [NOTE_MASKED]
    assert [row["note"] for row in detail["latest_attempts"]] == [NOTE_MASKED]


@pytest.mark.parametrize(
    ("role", "whole"), [(roles.ADMIN, True), (roles.SUPERVISOR, True), (roles.RISK_OFFICER, False)]
)
def test_complaints_show_their_numbers_whole_only_to_pii_roles(
    users: dict[str, User], case: Case, role: str, whole: bool
) -> None:
    """Risk officers read complaints' description and resolution raw (fixed)."""
    recorded = signed_in(users[roles.COLLECTOR]).post(
        f"{API}/complaints/",
        {
            "borrower": case.borrower_id,
            "case": case.pk,
            "channel": "call",
            "category": "harassment",
            "description": NOTE,
        },
        "application/json",
    )
    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["description"] == NOTE_MASKED  # the collector's own answer, too
    resolved = signed_in(users[roles.SUPERVISOR]).post(
        f"{API}/complaints/{recorded.json()['id']}/resolve/",
        {"resolution": f"refunded to card {CARD}"},
        "application/json",
    )
    assert resolved.status_code == 200, resolved.content

    listed = signed_in(users[role]).get(f"{API}/complaints/").json()["results"]

    shown = (listed[0]["description"], listed[0]["resolution"])
    assert shown == ((NOTE, f"refunded to card {CARD}") if whole else (NOTE_MASKED, f"refunded to card {CARD_MASKED}"))


# -- exports and the admin --------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "whole"), [(roles.ADMIN, True), (roles.RISK_OFFICER, False)])
def test_the_bureau_file_carries_whole_national_ids_only_for_a_pii_role(
    users: dict[str, User], case: Case, role: str, whole: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    loan: Loan = case.loans.get()
    month_end = date(2026, 10, 31)
    LoanMonthSnapshot.objects.create(
        month_end=month_end,
        loan=loan,
        dpd=40,
        bucket="M2",
        outstanding_principal=Decimal("4000.00"),
        overdue_amount=Decimal("1100.00"),
        status="active",
    )
    # Which accounts are reportable is test_bureau.py's; here, that the one reported is masked by role.
    row = dict.fromkeys(bureau.COLUMNS, "0") | {"account": loan.pk, "national_id": NATIONAL_ID}
    monkeypatch.setattr(bureau, "bureau_reportable_accounts", lambda day: [row])

    response = signed_in(users[role]).get(f"{API}/bureau-exports/2026-10-31/")

    assert response.status_code == 200, response.content
    rows = response.content.decode().splitlines()
    assert rows[1].split(",")[:2] == [str(loan.pk), NATIONAL_ID if whole else "110*************21"]
    assert response["X-PII-Masked"] == ("false" if whole else "true")


def test_the_admin_masks_the_borrower_and_the_audit_logs_json(users: dict[str, User], person: Borrower) -> None:
    note = AuditLog.objects.create(
        action="test.note",
        entity_type="lending.borrower",
        entity_id=str(person.pk),
        before={"phone": PHONE, "nested": [{"bank_card": CARD}]},
        after={"address": ADDRESS, "said": f"called {PHONE} about id {NATIONAL_ID}"},
        reason=f"card {CARD}",
    )
    client = signed_in(users[roles.ADMIN])

    pages = [
        client.get(reverse("admin:lending_borrower_changelist")),
        client.get(reverse("admin:lending_borrower_change", args=[person.pk])),
        client.get(reverse("admin:core_auditlog_changelist")),
        client.get(reverse("admin:core_auditlog_change", args=[note.pk])),
    ]

    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    text = "".join(page.content.decode() for page in pages)
    assert not any(secret in text for secret in SECRETS)
    assert CARD_MASKED in text and ADDRESS_MASKED in text and "139****5678" in text


# -- log lines ------------------------------------------------------------------------------------------------


def test_every_configured_log_handler_masks_pii() -> None:
    handlers = settings.LOGGING["handlers"]

    assert handlers and all("pii" in handler.get("filters", []) for handler in handlers.values())
    assert settings.LOGGING["filters"]["pii"]["()"] == "riskdesk.core.masking.PiiLogFilter"


@pytest.fixture
def web_process_logging() -> Iterator[None]:
    """Logging as Django sets it up in a web process, from settings.LOGGING.

    Earlier tests may have started a Celery worker in this process, which replaces the root
    logger's handlers with its own (tests/security/test_health.py, tests/nights): the web
    process's handlers are what these tests read.
    """
    root = logging.getLogger()
    saved = root.handlers[:]
    logging.config.dictConfig(settings.LOGGING)
    yield
    root.handlers[:] = saved


@pytest.mark.usefixtures("web_process_logging")
def test_a_log_line_with_a_phone_an_id_and_a_card_is_written_masked() -> None:
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, PiiLogFilter) for f in h.filters))
    written = io.StringIO()
    # Swapped, not setStream(): that flushes the old stream, which pytest's capture may have closed.
    stream, handler.stream = handler.stream, written
    try:
        logging.getLogger("riskdesk.test").warning(
            "calling %s for %s, card %s", PHONE, NATIONAL_ID, int(CARD), extra={"case": 7}
        )
    finally:
        handler.stream = stream

    assert written.getvalue() == "calling 139****5678 for 110*************21, card ************1486\n"


def process_log_handlers() -> list[logging.Handler]:
    """Every handler that writes somewhere on every logger of this process, but pytest's own (log capture)."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = [h for logger in loggers for h in getattr(logger, "handlers", ())]
    return [h for h in handlers if not (isinstance(h, logging.NullHandler) or type(h).__module__.startswith("_pytest"))]


@pytest.mark.usefixtures("web_process_logging")
def test_every_log_handler_of_the_web_process_masks_pii() -> None:
    """Django's own handlers (runserver's request lines, the error mail) were unfiltered (fixed)."""
    handlers = process_log_handlers()
    named = {h.name for h in handlers}

    assert {"console", "django.server", "mail_admins"} <= named
    assert [h.name for h in handlers if not any(isinstance(f, PiiLogFilter) for f in h.filters)] == []


def written_by(logger_name: str, log: Any) -> str:
    """What the first handler `logger_name`'s records reach (its own, else the root's) writes for log()."""
    logger = logging.getLogger(logger_name)
    handler = next(h for h in (logger.handlers or logging.getLogger().handlers) if isinstance(h, logging.StreamHandler))
    written = io.StringIO()
    stream, handler.stream = handler.stream, written
    try:
        log(logger)
    finally:
        handler.stream = stream
    return written.getvalue()


@pytest.mark.usefixtures("web_process_logging")
def test_runserver_request_lines_are_written_masked() -> None:
    """`GET /loans/?q=<national id>` went out whole (fixed)."""
    server = WSGIRequestHandler.__new__(WSGIRequestHandler)  # no socket: only its log line
    server.request, server.requestline = None, f"GET /loans/?q={NATIONAL_ID} HTTP/1.1"

    line = written_by("django.server", lambda _: server.log_message('"%s" %s %s', server.requestline, "200", "512"))

    assert line.endswith('] "GET /loans/?q=110*************21 HTTP/1.1" 200 512\n')


@pytest.mark.usefixtures("web_process_logging")
def test_a_traceback_and_a_stack_are_written_masked() -> None:
    """The exception's text reached the log whole: the formatter filled exc_text after the filter ran (fixed)."""

    def log_failure(logger: logging.Logger) -> None:
        try:
            raise ValueError(f"Key (national_id)=({NATIONAL_ID}) already exists")
        except ValueError:
            logger.exception("insert failed for %s", PHONE)
        logger.warning("dialling", stack_info=True)

    text = written_by("riskdesk.test", log_failure)

    assert text.startswith("insert failed for 139****5678\nTraceback (most recent call last):\n")
    assert "ValueError: Key (national_id)=(110*************21) already exists\n" in text
    assert "\ndialling\nStack (most recent call last):\n" in text
    assert not any(secret in text for secret in SECRETS)


CELERY_PROCESS_LOGS = f"""
import logging
import django
django.setup()
from celery.utils.log import get_task_logger
from riskdesk.celery import app
# What `celery worker` and `celery beat` do at start: Celery's handlers replace the root's (Django's).
app.log.setup(loglevel="INFO", redirect_stdouts=True)
logging.getLogger("riskdesk.collections").info("dial %s", "{PHONE}")
get_task_logger("riskdesk.tasks").warning("borrower %s", "{NATIONAL_ID}")
print("card {CARD}")  # a task's print(), redirected to the log
try:
    raise ValueError("Key (national_id)=({NATIONAL_ID}) already exists")
except ValueError:
    logging.getLogger("riskdesk").exception("insert failed")
"""


def test_celery_worker_and_beat_logs_are_masked() -> None:
    """Celery's own handlers replaced Django's masking ones at a worker's or beat's start (fixed)."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env |= {"DJANGO_SETTINGS_MODULE": "riskdesk.settings", "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", CELERY_PROCESS_LOGS], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    written = done.stderr
    assert "/MainProcess] dial 139****5678\n" in written
    assert "borrower 110*************21\n" in written
    assert "card ************1486\n" in written
    assert "ValueError: Key (national_id)=(110*************21) already exists\n" in written
    assert not any(secret in written for secret in SECRETS)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+8613912345678", "+*********5678"),
        ("11010119850707432X", "110*************2X"),
        ("amount 12000.00 on 2026-11-23, loan 1234567", "amount 12000.00 on 2026-11-23, loan 1234567"),
        ("card=6222021234567890123;", "card=***************0123;"),
    ],
)
def test_mask_text_hides_number_runs_shaped_like_pii_and_nothing_else(text: str, masked: str) -> None:
    assert mask_text(text) == masked
