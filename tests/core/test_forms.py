from __future__ import annotations

from datetime import date

from django import forms
from django.utils import translation

from riskdesk.core.forms import date_input


class OnForm(forms.Form):
    on = forms.DateField(widget=date_input())


def test_a_date_input_renders_its_value_iso_in_chinese_as_the_browser_needs() -> None:
    # Chinese's first date input format is 2026/11/24, which <input type="date"> rejects.
    with translation.override("zh-hans"):
        html = str(OnForm(initial={"on": date(2026, 11, 24)})["on"])
    assert 'type="date"' in html
    assert 'value="2026-11-24"' in html
