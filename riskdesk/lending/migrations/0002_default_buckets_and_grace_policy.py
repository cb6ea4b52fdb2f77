"""The default delinquency buckets (M0-M7+) and the all-products grace policy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import migrations

BUCKETS = [
    ("M0", "current", 0, 0),
    ("M1", "1–30 days past due", 1, 30),
    ("M2", "31–60 days past due", 31, 60),
    ("M3", "61–90 days past due", 61, 90),
    ("M4", "91–120 days past due", 91, 120),
    ("M5", "121–150 days past due", 121, 150),
    ("M6", "151–180 days past due", 151, 180),
    ("M7+", "over 180 days past due", 181, None),
]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    Bucket = apps.get_model("lending", "Bucket")
    GracePolicy = apps.get_model("lending", "GracePolicy")
    for code, label, lo, hi in BUCKETS:
        Bucket.objects.get_or_create(code=code, defaults={"label": label, "min_dpd": lo, "max_dpd": hi})
    GracePolicy.objects.get_or_create(
        product=None,
        effective_from=date(2000, 1, 1),
        defaults={
            "grace_days": 3,
            "penalty_start": "due_date",
            "arrears_tolerance": Decimal("1.00"),
            "bureau_report_after_days": 30,
            "cooling_off_days": 30,
            "case_open_after_days": 0,
            "note": "default policy",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("lending", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
