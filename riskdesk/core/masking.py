"""PII masking: a role that may not see a value sees only enough to recognise it.

This module imports no model: settings.LOGGING loads PiiLogFilter before the apps are
ready. Unmasking, an audited action, is riskdesk.core.access.pii_reveal.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.log import AdminEmailHandler


def mask_national_id(value: str) -> str:
    """Keep the first 3 and last 2 characters: 110***********34."""
    if len(value) <= 5:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits: 138****5678."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_email(value: str) -> str:
    name, _, domain = value.partition("@")
    return (name[:1] + "***@" + domain) if domain else "***"


def mask_name(value: str) -> str:
    """Keep the first character: 张** / J***."""
    return value[:1] + "*" * max(len(value) - 1, 2) if value else value


def mask_card(value: str) -> str:
    """Keep the last 4 digits: ************1234."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_address(value: str) -> str:
    """Keep the first 6 characters (the city or district), hide the rest: 北京市朝阳区****."""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:6] + "****"


# The masks by the kind of value, for templates ({% pii value "card" %}) and serializers.
MASKS: dict[str, Callable[[str], str]] = {
    "name": mask_name,
    "national_id": mask_national_id,
    "phone": mask_phone,
    "email": mask_email,
    "card": mask_card,
    "address": mask_address,
}


def mask(kind: str, value: str) -> str:
    """`value` masked as a `kind` (a key of MASKS); empty stays empty."""
    return MASKS[kind](value) if value else value


def mask_csv_column(content: str, *, column: str, kind: str) -> str:
    """A CSV file (a header row, '\\n' line ends) with every value of `column` masked as a `kind`."""
    rows = list(csv.reader(io.StringIO(content)))
    if not rows or column not in rows[0]:
        return content
    at = rows[0].index(column)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow([mask(kind, cell) if i == at else cell for i, cell in enumerate(row)])
    return out.getvalue()


# -- log lines ---------------------------------------------------------------------------

# A run of 11 to 19 digits, or 17 digits and an X: a mainland mobile (11), a national ID
# (18, or the old 15), a card (12-19). Amounts, ids and dates in log lines are shorter or
# punctuated, so a run this long is personal data until shown otherwise.
PII_DIGITS = re.compile(r"(?<!\d)(?:\d{17}[Xx]|\d{11,19})(?!\d)")


def _mask_digits(match: re.Match[str]) -> str:
    digits = match.group(0)
    if len(digits) == 11:
        return mask_phone(digits)
    if len(digits) in (15, 18):
        return mask_national_id(digits)
    return mask_card(digits)


def mask_text(text: str) -> str:
    """`text` with every phone-, national-ID- and card-shaped number masked."""
    return PII_DIGITS.sub(_mask_digits, text)


# Keys of a stored JSON record (audit before/after) whose values are personal data.
JSON_KEY_KINDS = {"national_id": "national_id", "phone": "phone", "email": "email", "address": "address"}
JSON_KEY_KINDS |= {"bank_card": "card", "card": "card"}


def mask_json(value: Any) -> Any:
    """A JSON value with personal data masked: the values of JSON_KEY_KINDS keys, and number runs anywhere."""
    if isinstance(value, dict):
        return {
            key: mask(JSON_KEY_KINDS[key], str(item)) if key in JSON_KEY_KINDS and item else mask_json(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_json(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


class PiiLogFilter(logging.Filter):
    """Mask phone, national-ID and card numbers in every log record (settings.LOGGING, on each handler;
    riskdesk.celery puts it on the handlers Celery's worker and beat set up).

    The message is formatted here with its args and the args dropped, so a number passed
    as an argument (`log.info("calling %s", phone)`) is masked as well as one in the text.
    A traceback is formatted here too: a handler's formatter writes record.exc_text when it is
    set, and only fills it from exc_info, unmasked, when it is empty (as it is when filters run).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
            return True
        record.msg, record.args = mask_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


class PiiAdminEmailHandler(AdminEmailHandler):
    """Django's error mail to settings.ADMINS with the whole mail masked: its error page also
    quotes the request (query string, form fields) and the traceback's local variables."""

    def emit(self, record: logging.LogRecord) -> None:
        if settings.ADMINS:  # as Django's own handler: no report built for nobody
            super().emit(record)

    def send_mail(self, subject: str, message: str, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("html_message"):
            kwargs["html_message"] = mask_text(kwargs["html_message"])
        super().send_mail(mask_text(subject), mask_text(message), *args, **kwargs)
