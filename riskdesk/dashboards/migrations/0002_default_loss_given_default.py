"""The default loss given default: 0.45 for every product from 2000-01-01.

Expected loss needs an LGD in force on every business date; the admin adds later
versions (per product or for all) and never edits this one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import migrations


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    LossGivenDefault = apps.get_model("dashboards", "LossGivenDefault")
    LossGivenDefault.objects.get_or_create(
        product=None,
        effective_from=date(2000, 1, 1),
        defaults={"lgd": Decimal("0.4500"), "note": "default: unsecured consumer credit"},
    )


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
