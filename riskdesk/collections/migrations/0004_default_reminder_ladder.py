from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("collections", "0003_default_queues")]
    operations: list[migrations.operations.base.Operation] = []
