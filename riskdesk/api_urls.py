"""The HTTP API, v1 (DESIGN.md "HTTP API")."""

from __future__ import annotations

urlpatterns: list = []
