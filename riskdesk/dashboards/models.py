"""Models of the dashboards app (filled by its own issue)."""

from __future__ import annotations
