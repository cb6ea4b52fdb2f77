"""The Celery application; the beat schedule lives in settings.CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskdesk.settings")

app = Celery("riskdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def relay_pending_on_ready(**_: Any) -> None:
    """A worker that comes up (Redis back, a deploy) first sends what the outbox kept while it was away."""
    from riskdesk.core.outbox import relay_pending

    relay_pending()
