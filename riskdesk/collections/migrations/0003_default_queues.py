from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("collections", "0002_default_contact_policy")]
    operations: list[migrations.operations.base.Operation] = []
