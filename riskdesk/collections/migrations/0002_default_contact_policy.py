from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("collections", "0001_initial")]
    operations: list[migrations.operations.base.Operation] = []
