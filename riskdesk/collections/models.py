"""Models of the collections app (filled by its own issue)."""

from __future__ import annotations
