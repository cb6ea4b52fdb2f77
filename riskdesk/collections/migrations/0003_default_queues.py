"""The default queues, one per stage plus English-speaking early cases, and the rules routing into them."""

from __future__ import annotations

from django.db import migrations

# (code, name, stage)
QUEUES = [
    ("early", "Early (M1)", "early"),
    ("early-en", "Early (M1), English speakers", "early"),
    ("mid", "Mid (M2–M3)", "mid"),
    ("late", "Late (M4–M6)", "late"),
    ("write_off_review", "Write-off review (over 180 days)", "write_off_review"),
]
# (order, queue code, stage, language): the first match wins, so the language rule comes first.
RULES = [
    (10, "early-en", "early", "en"),
    (20, "early", "early", ""),
    (30, "mid", "mid", ""),
    (40, "late", "late", ""),
    (50, "write_off_review", "write_off_review", ""),
]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    Queue = apps.get_model("collections", "Queue")
    RoutingRule = apps.get_model("collections", "RoutingRule")
    queues = {
        code: Queue.objects.get_or_create(code=code, defaults={"name": name, "stage": stage})[0]
        for code, name, stage in QUEUES
    }
    for order, code, stage, language in RULES:
        RoutingRule.objects.get_or_create(
            order=order, defaults={"queue": queues[code], "stage": stage, "language": language}
        )


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("collections", "RoutingRule").objects.filter(order__in=[rule[0] for rule in RULES]).delete()
    apps.get_model("collections", "Queue").objects.filter(code__in=[queue[0] for queue in QUEUES]).delete()


class Migration(migrations.Migration):
    dependencies = [("collections", "0002_default_contact_policy")]
    operations = [
        migrations.RunPython(forwards, backwards),
    ]
