"""PII masking: a role that may not see a value sees only enough to recognise it."""

from __future__ import annotations


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
