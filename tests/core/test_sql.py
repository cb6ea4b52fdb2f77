"""The raw-SQL helpers the set-based steps share (`riskdesk.core.sql`)."""

from __future__ import annotations

import pytest

from riskdesk.core.models import ClosedDay
from riskdesk.core.sql import execute, fetch_all


@pytest.mark.django_db
def test_execute_returns_the_rows_touched_and_fetch_all_reads_them_back() -> None:
    ClosedDay.objects.create(business_date="2026-11-20")
    ClosedDay.objects.create(business_date="2026-11-21")
    assert fetch_all("SELECT COUNT(*) FROM core_closedday WHERE business_date >= %s", ["2026-11-21"]) == [(1,)]
    assert execute("DELETE FROM core_closedday WHERE business_date >= %(d)s", {"d": "2026-11-20"}) == 2
    assert fetch_all("SELECT COUNT(*) FROM core_closedday") == [(0,)]
