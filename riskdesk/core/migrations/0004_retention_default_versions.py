"""The default retention periods: one version per record kind, at its legal minimum."""

from __future__ import annotations

from datetime import date

from django.db import migrations

# The legal minimums of riskdesk.core.retention as they stood when this ran (a migration
# keeps its own copy: the module may raise them later, the history stays).
DEFAULTS = {"contact_attempts": 1096, "recording_references": 731, "audit_log": 1827}


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    RetentionPolicy = apps.get_model("core", "RetentionPolicy")
    for kind, keep_days in DEFAULTS.items():
        RetentionPolicy.objects.get_or_create(
            kind=kind,
            effective_from=date(2000, 1, 1),
            defaults={"keep_days": keep_days, "reason": "default: the legal minimum"},
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0003_pendingtask_retentionpolicy")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
