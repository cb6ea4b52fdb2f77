"""Forms of the model pages: the admin's promotion and retirement, each with its comment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from riskdesk.riskmodels.services import COMMENT_MAX


class StatusChangeForm(forms.Form):
    """Promote or retire a version: why, in words the audit log keeps."""

    comment = forms.CharField(
        label=_("Comment"),
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": COMMENT_MAX}),
        error_messages={"required": _("Say why: a comment is required.")},
    )
