"""riskdesk: the risk-management desk of a consumer-credit lender."""

from __future__ import annotations

from riskdesk.celery import app as celery_app

__all__ = ["celery_app"]
