"""Contact policy v1: the China preset, in force from 2000-01-01, so the gate never starts empty.

The values are written out here, not imported from contact.PRESETS: a migration must keep
meaning what it meant when it ran.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from django.db import migrations

CN_V1 = {
    "version": 1,
    "preset": "cn",
    "effective_from": datetime(2000, 1, 1, tzinfo=UTC),
    "quiet_start": time(22, 0),
    "quiet_end": time(8, 0),
    "max_unanswered_dials_per_number_per_day": 6,
    "max_conversations_per_day": 3,
    "max_calls_per_7_days": None,
    "conversation_cooldown_days": None,
    "unreachable_after_failures": 3,
    "third_party_contacts_max": None,
    "pause_on_attorney": False,
    "written_dispute_window_days": None,
    "breathing_space_days": None,
    "pause_on_vulnerability": False,
    "field_visits_allowed": True,
    "field_visit_min_overdue": Decimal("5000.00"),
    "field_visit_min_dpd": 91,
    "field_visit_min_staff": 2,
    "bureau_notice_days": 7,
    "agency_review_months": 12,
    "note": "default: China preset",
}


def create_default_policy(apps, schema_editor) -> None:
    ContactPolicy = apps.get_model("collections", "ContactPolicy")
    if not ContactPolicy.objects.filter(version=1).exists():
        ContactPolicy.objects.create(**CN_V1)


def drop_default_policy(apps, schema_editor) -> None:
    apps.get_model("collections", "ContactPolicy").objects.filter(version=1, note=CN_V1["note"]).delete()


class Migration(migrations.Migration):
    dependencies = [("collections", "0001_initial")]
    operations = [migrations.RunPython(create_default_policy, drop_default_policy)]
