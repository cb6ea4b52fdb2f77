"""Models of the riskmodels app (filled by its own issue)."""

from __future__ import annotations
