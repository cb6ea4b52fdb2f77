"""Form pieces every app's forms share."""

from __future__ import annotations

from django import forms


def date_input() -> forms.DateInput:
    """An <input type="date">, whose value must be ISO (YYYY-MM-DD) in every language.

    Without the format, Django renders the active locale's date format (2026/11/24 in
    Chinese), which the browser's date input rejects and shows empty.
    """
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
