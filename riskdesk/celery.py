"""The Celery application; the beat schedule lives in settings.CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskdesk.settings")

app = Celery("riskdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def relay_pending_on_ready(**_: Any) -> None:
    """A worker that comes up (Redis back, a deploy) first sends what the outbox kept while it was away."""
    from riskdesk.core.outbox import relay_pending

    relay_pending()


@after_setup_logger.connect
@after_setup_task_logger.connect
def mask_pii_in_celery_logs(**_: Any) -> None:
    """Put the PII filter on every log handler, Celery's included.

    A worker or beat replaces the root logger's handlers (settings.LOGGING's, which mask) with its
    own, and gives the task logger one more: each gets the filter Django's handlers have.
    """
    from riskdesk.core.masking import PiiLogFilter

    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):  # a PlaceHolder has none
            if not any(isinstance(f, PiiLogFilter) for f in handler.filters):
                handler.addFilter(PiiLogFilter())
