"""A dashboard table as CSV: the page's own URL with `?export=<table>` and its filters.

Values are written exactly: money and rates as their decimal strings (never through a
float), dates ISO, missing values empty. The file's name says page, table and date range,
so two downloads from different days do not overwrite each other.
"""

from __future__ import annotations

import csv
import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from django.http import HttpResponse

from riskdesk.dashboards.filters import DashboardFilters


def csv_value(value: Any) -> str:
    """One cell as text: Decimal as is, dates ISO, floats to 6 places (shares), None/NaN empty."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float):
        # Floats here are computed shares and ratios; money never reaches the CSV as a float.
        return "" if math.isnan(value) else f"{value:.6f}"
    return str(value)


def csv_filename(page: str, table: str, filters: DashboardFilters) -> str:
    return f"riskdesk-{page}-{table}-{filters.date_from.isoformat()}-{filters.date_to.isoformat()}.csv"


def csv_response(frame: pd.DataFrame, *, page: str, table: str, filters: DashboardFilters) -> HttpResponse:
    """`frame` as a CSV download: a header row of its column names, then its rows."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(page, table, filters)}"'
    writer = csv.writer(response, lineterminator="\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([csv_value(value) for value in row])
    return response
