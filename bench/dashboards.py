"""Benchmark the dashboard pages' server time on a generated book, against the headline computed from the loans.

    python bench/dashboards.py --loans 1000000 [--repeat 30] [--reuse] [--json out.json]
    python bench/dashboards.py --compare a.json b.json

Needs Postgres (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/riskdesk_bench_dashboards_<N>,
one database per book size so both can be kept; dropped and created unless --reuse). Steps:
  1. migrate and `generate_book --loans N --as-of AS_OF` (bench/close_day.py's helpers); AS_OF is a
     month end, so its night writes the month-end loan snapshot and a month of roll rates. The
     generator has one product and no month-end history, so the book gets here: a second
     product on a third of the loans, and the previous month end's loan snapshot derived from
     the loans (30 days less past due, in the bucket that makes) so the night's roll rates have
     a month to roll from;
  2. close AS_OF in a child process: every step of the night, the dashboards' aggregates last;
  3. a realistic history of the aggregates, since a generated book has one night of them:
     the night's rows copied with shifted dates, set-based SQL (PortfolioSnapshot,
     ExpectedLossDay, CollectionsDay, ComplianceDay and the job runs daily for 365 days;
     RollRateMonth for 24 month ends), plus 40 collectors' CollectionsDay rows and the
     compliance measures by rule and channel for those days (the generated book has no
     collections activity); the vintages are rebuilt whole each night and stay as the night
     left them; the month-end loan snapshots (which no page reads) are not copied;
  4. each page in this process through django.test.Client logged in as a risk officer (the
     whole request and response, templates and figures included): a warm-up, then --repeat
     requests with the default filters and with one filtered variant; median, p95, queries
     per request, response size;
  5. the baseline: the portfolio headline (outstanding principal and count, DPD1+/30+/90+ by
     balance and count) computed per request with one GROUP BY over lending_loan, what the
     aggregates save; then prints the table and the ratios.
--compare prints two runs' medians and p95s side by side (e.g. 100,000 and 1,000,000 loans).
"""

from __future__ import annotations

import os
import sys

# bench/collections.py shares its name with the standard library's `collections`: this
# folder goes off the import path before anything imports it (see bench/close_day.py).
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != os.path.dirname(os.path.realpath(__file__))]

import argparse
import importlib.util
import json
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any


def _close_day_bench() -> ModuleType:
    """bench/close_day.py, for its book, database and night-in-a-child-process helpers (loaded by path)."""
    spec = importlib.util.spec_from_file_location("bench_close_day", Path(__file__).with_name("close_day.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


close_day = _close_day_bench()
ROOT = close_day.ROOT
AS_OF = date(2026, 10, 31)
PREVIOUS_MONTH_END = date(2026, 9, 30)
HISTORY_DAYS = 365
HISTORY_MONTH_ENDS = 24
COLLECTORS = 40
WARM_UP = 3
BASELINE_REPEAT = 10
BLOCKING_RULES = (
    "quiet_start",
    "max_unanswered_dials_per_number_per_day",
    "max_conversations_per_day",
    "max_calls_per_7_days",
    "conversation_cooldown_days",
    "unreachable_after_failures",
    "pause_on_attorney",
    "breathing_space_days",
)

# (URL name, the filtered variant's query string): the first is requested bare (the default
# filters: every product and term, the 90 days to the last closed day), then with its variant.
BOOK_FILTER = "product=bench&term=12&orig_from=2026-03&orig_to=2026-08&from=2026-09-01&to=2026-10-31"
ACTIVITY_FILTER = "from=2026-10-01&to=2026-10-31"
PAGES: list[tuple[str, str | None]] = [
    ("dashboard_portfolio", BOOK_FILTER),
    ("dashboard_roll_rates", BOOK_FILTER),
    ("dashboard_vintages", BOOK_FILTER),
    ("dashboard_expected_loss", BOOK_FILTER),
    ("dashboard_collections", ACTIVITY_FILTER),
    ("dashboard_compliance", ACTIVITY_FILTER),
    ("operations", None),
    ("model_list", None),
]

# The headline without aggregates: one pass over the book per request.
BASELINE_SQL = """
SELECT count(*), coalesce(sum(outstanding_principal), 0),
       count(*) FILTER (WHERE dpd > 0), coalesce(sum(outstanding_principal) FILTER (WHERE dpd > 0), 0),
       count(*) FILTER (WHERE dpd > 30), coalesce(sum(outstanding_principal) FILTER (WHERE dpd > 30), 0),
       count(*) FILTER (WHERE dpd > 90), coalesce(sum(outstanding_principal) FILTER (WHERE dpd > 90), 0)
FROM lending_loan WHERE status = 'active'
"""


# -- the book -------------------------------------------------------------------------------


def prepare_book() -> dict[str, int]:
    """A second product, and the previous month end's loan snapshot (see the module docstring)."""
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO lending_product (code, name, daily_rate, penalty_multiplier, penalty_base, methods, terms, "
            "min_amount, max_amount) SELECT 'bench2', 'Benchmark line 2', daily_rate, penalty_multiplier, "
            "penalty_base, methods, terms, min_amount, max_amount FROM lending_product WHERE code = 'bench' "
            "ON CONFLICT DO NOTHING"
        )
        cursor.execute(
            "UPDATE lending_loan SET product_id = (SELECT id FROM lending_product WHERE code = 'bench2') "
            "WHERE id % 3 = 0"
        )
        counts["loans_on_second_product"] = cursor.rowcount
        # A month earlier each loan was 30 days less past due; its balance is taken as today's
        # (the roll rates' shape, not their amounts, is what the pages' time depends on).
        cursor.execute(
            "INSERT INTO lending_loanmonthsnapshot (month_end, loan_id, dpd, bucket, outstanding_principal, "
            "overdue_amount, status) "
            "SELECT %s, l.id, GREATEST(l.dpd - 30, 0), b.code, l.outstanding_principal, "
            "CASE WHEN l.dpd > 30 THEN l.overdue_amount ELSE 0 END, l.status "
            "FROM lending_loan l JOIN lending_bucket b ON b.min_dpd <= GREATEST(l.dpd - 30, 0) "
            "AND (b.max_dpd IS NULL OR GREATEST(l.dpd - 30, 0) <= b.max_dpd) "
            "WHERE l.disbursed_on <= %s",
            [PREVIOUS_MONTH_END, PREVIOUS_MONTH_END],
        )
        counts["previous_month_end_snapshots"] = cursor.rowcount
        cursor.execute("ANALYZE lending_loan")
        cursor.execute("ANALYZE lending_loanmonthsnapshot")
    return counts


def _month_ends_before(day: date, count: int) -> list[date]:
    ends, first = [], day.replace(day=1)
    for _ in range(count):
        end = first - timedelta(days=1)
        ends.append(end)
        first = end.replace(day=1)
    return ends


def _copy_shifted(cursor: Any, model: Any, date_column: str, source: date, targets: list[date]) -> int:
    """Copy `model`'s rows of `source` to each of `targets` in one INSERT ... SELECT."""
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key and f.column != date_column]
    quoted = ", ".join(f'"{c}"' for c in columns)
    selected = ", ".join(f't."{c}"' for c in columns)
    cursor.execute(
        f'INSERT INTO {table} ("{date_column}", {quoted}) '
        f"SELECT d.day, {selected} "
        f'FROM {table} t CROSS JOIN unnest(%s::date[]) AS d(day) WHERE t."{date_column}" = %s '
        "ON CONFLICT DO NOTHING",
        [targets, source],
    )
    return cursor.rowcount


def add_history() -> dict[str, int]:
    """A year of daily aggregates and two years of month ends, from the night's rows (set-based)."""
    from django.contrib.auth.models import Group, User
    from django.db import connection

    from riskdesk.core import roles
    from riskdesk.core.models import JobRun
    from riskdesk.dashboards.models import CollectionsDay, ComplianceDay, ExpectedLossDay, RollRateMonth
    from riskdesk.lending.models import PortfolioSnapshot

    days = [AS_OF - timedelta(days=k) for k in range(1, HISTORY_DAYS)]
    month_ends = _month_ends_before(AS_OF, HISTORY_MONTH_ENDS - 1)
    group = Group.objects.get_or_create(name=roles.COLLECTOR)[0]
    for i in range(COLLECTORS):
        user, _ = User.objects.get_or_create(username=f"bench_collector_{i:02d}")
        user.groups.add(group)
    counts = {}
    with connection.cursor() as cursor:
        for model, column in (
            (PortfolioSnapshot, "business_date"),
            (ExpectedLossDay, "business_date"),
            (CollectionsDay, "business_date"),
            (ComplianceDay, "business_date"),
            (JobRun, "business_date"),
        ):
            counts[model._meta.db_table] = _copy_shifted(cursor, model, column, AS_OF, days)
        counts[RollRateMonth._meta.db_table] = _copy_shifted(cursor, RollRateMonth, "month_end", AS_OF, month_ends)
        cursor.execute(
            "INSERT INTO core_closedday (business_date, closed_at) SELECT d, now() FROM unnest(%s::date[]) d "
            "ON CONFLICT DO NOTHING",
            [days],
        )
        # A desk's collections work: each collector, each stage, each day (the figures are
        # made up from the day and the collector, consistent with each other).
        cursor.execute(
            "INSERT INTO dashboards_collectionsday (business_date, collector_id, stage, cases_open, cases_opened, "
            "cases_closed, attempts, right_party_contacts, promises_made, promises_kept, promises_broken, recovered) "
            "SELECT d, uid, s, 40 + h %% 30, h %% 7, h %% 5, 60 + h %% 50, 12 + h %% 20, 3 + h %% 6, 2 + h %% 4, "
            "h %% 3, (1000 + h * 37 %% 90000) / 100.0 "
            "FROM (SELECT d, u.id AS uid, s, abs(hashtext(d::text || u.id || s)) %% 1000 AS h "
            "      FROM unnest(%s::date[]) d CROSS JOIN auth_user u "
            "      CROSS JOIN unnest(ARRAY['early', 'mid', 'late', 'write_off_review']) s "
            "      WHERE u.username LIKE 'bench_collector_%%') x "
            "ON CONFLICT DO NOTHING",
            [[AS_OF, *days]],
        )
        counts["collectors' days"] = cursor.rowcount
        cursor.execute(
            "INSERT INTO dashboards_complianceday (business_date, measure, rule, channel, count) "
            "SELECT d, m.measure, m.rule, c, abs(hashtext(d::text || m.measure || m.rule || c)) %% 40 "
            "FROM unnest(%s::date[]) d CROSS JOIN unnest(ARRAY['call', 'sms', 'app']) c "
            "CROSS JOIN (SELECT 'blocked' AS measure, unnest(%s::text[]) AS rule "
            "            UNION ALL SELECT 'complaint', '' UNION ALL SELECT 'cease_request', '' "
            "            UNION ALL SELECT 'reminder_sent', '' UNION ALL SELECT 'reminder_blocked', '') m "
            "ON CONFLICT DO NOTHING",
            [[AS_OF, *days], list(BLOCKING_RULES)],
        )
        counts["compliance measures"] = cursor.rowcount
        for model in (PortfolioSnapshot, ExpectedLossDay, CollectionsDay, ComplianceDay, RollRateMonth, JobRun):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    return counts


def aggregate_sizes() -> dict[str, int]:
    """Rows in each table the pages read (what their time may grow with)."""
    from django.apps import apps

    labels = (
        "lending.PortfolioSnapshot",
        "dashboards.ExpectedLossDay",
        "dashboards.RollRateMonth",
        "dashboards.VintagePoint",
        "dashboards.CollectionsDay",
        "dashboards.ComplianceDay",
        "core.JobRun",
        "lending.LoanMonthSnapshot",
    )
    return {label.split(".")[1]: apps.get_model(label).objects.count() for label in labels}


# -- the measurements -----------------------------------------------------------------------


def _summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000, "n": len(ordered)}


def renice(niceness: int) -> int:
    """Give this process and the Postgres backend serving it `niceness`, so other work on a shared
    machine waits for the measured requests rather than the other way round."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    for pid in (os.getpid(), backend):
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    return niceness


def measure_pages(repeat: int) -> list[dict[str, Any]]:
    """Each page and its filtered variant: status, queries, bytes, median and p95 of the whole request."""
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from riskdesk.core import roles

    officer, _ = User.objects.get_or_create(username="bench_risk_officer")
    officer.groups.add(Group.objects.get_or_create(name=roles.RISK_OFFICER)[0])
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    results = []
    for name, variant in PAGES:
        base = reverse(name)
        for label, url in (("default", base), ("filtered", f"{base}?{variant}" if variant else None)):
            if url is None:
                continue
            for _ in range(WARM_UP):
                client.get(url)
            with CaptureQueriesContext(connection) as captured:
                client.get(url)
            # Counted now: each request starts by emptying the connection's query log.
            queries = len(captured)
            sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
            timings, cpu = [], []
            for _ in range(repeat):
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(url)
                b"".join(response) if response.streaming else response.content  # noqa: B018
                timings.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
            results.append(
                {
                    "page": name,
                    "variant": label,
                    "url": url,
                    "status": response.status_code,
                    "queries": queries,
                    "kb": len(response.content) / 1024 if not response.streaming else 0,
                    **_summary(timings),
                    # This process's CPU (Django, pandas, plotly, templates; not Postgres): what
                    # the wall time is made of when nothing else competes for the CPUs.
                    "cpu_median_ms": statistics.median(cpu) * 1000,
                    # The queries' time on the one request they were captured on (Postgres and the driver).
                    "sql_ms": sql_ms,
                }
            )
    return results


def measure_baseline(repeat: int) -> dict[str, Any]:
    """The portfolio headline from lending_loan per request (a GROUP BY over the whole book)."""
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL)
        for _ in range(repeat):
            started = time.perf_counter()
            cursor.execute(BASELINE_SQL)
            row = cursor.fetchone()
            timings.append(time.perf_counter() - started)
    return {"loans": row[0], "outstanding_principal": str(row[1]), "dpd30_principal": str(row[5]), **_summary(timings)}


def print_results(loans: int, sizes: dict[str, int], pages: list[dict[str, Any]], baseline: dict[str, Any]) -> None:
    print(f"\nbook: {loans} loans generated, night closed {AS_OF}; aggregate rows (with the copied history):")
    print("  " + ", ".join(f"{table} {rows}" for table, rows in sizes.items()))
    print(
        f"\n{'page':<26} {'variant':<9} {'status':>6} {'queries':>7} {'KB':>6} {'median ms':>10} {'p95 ms':>8} "
        f"{'CPU ms':>7} {'SQL ms':>7}"
    )
    for r in pages:
        print(
            f"{r['page']:<26} {r['variant']:<9} {r['status']:>6} {r['queries']:>7} {r['kb']:>6.0f} "
            f"{r['median_ms']:>10.1f} {r['p95_ms']:>8.1f} {r['cpu_median_ms']:>7.1f} {r['sql_ms']:>7.1f}"
        )
    print(
        "(median and p95: wall time of the whole request; CPU ms: this process's CPU time, median, Postgres not in it)"
    )
    # Other work on the machine moves these figures: say how busy it was.
    print(
        f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs"
    )
    worst = max(pages, key=lambda r: r["p95_ms"])
    print(f"\nworst p95: {worst['page']} ({worst['variant']}) {worst['p95_ms']:.1f} ms (goal: under 150 ms at 1M)")
    portfolio = next(r for r in pages if r["page"] == "dashboard_portfolio" and r["variant"] == "default")
    print(
        f"baseline, the portfolio headline per request from lending_loan ({baseline['loans']} active loans, "
        f"one GROUP BY): median {baseline['median_ms']:.1f} ms, p95 {baseline['p95_ms']:.1f} ms over "
        f"{baseline['n']} queries"
    )
    print(
        f"ratio baseline query / whole portfolio page (from the aggregates, figures and template included): "
        f"median {baseline['median_ms'] / portfolio['median_ms']:.1f}x, p95 {baseline['p95_ms'] / portfolio['p95_ms']:.1f}x"
    )


def compare(first: Path, second: Path) -> None:
    """Two runs side by side: medians and p95s per page, and how much they grew."""
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    print(f"{'page':<26} {'variant':<9} {a['loans']:>10} loans (median/p95 ms) {b['loans']:>10} loans   p95 ratio")
    for x, y in zip(a["pages"], b["pages"], strict=True):
        print(
            f"{x['page']:<26} {x['variant']:<9} {x['median_ms']:>14.1f} / {x['p95_ms']:<8.1f} "
            f"{y['median_ms']:>14.1f} / {y['p95_ms']:<8.1f} {y['p95_ms'] / x['p95_ms']:>6.2f}x"
        )
    print(
        f"{'baseline (lending_loan)':<36} {a['baseline']['median_ms']:>14.1f} / {a['baseline']['p95_ms']:<8.1f} "
        f"{b['baseline']['median_ms']:>14.1f} / {b['baseline']['p95_ms']:<8.1f} "
        f"{b['baseline']['p95_ms'] / a['baseline']['p95_ms']:>6.2f}x"
    )
    print("aggregate rows:", {t: f"{a['sizes'][t]} -> {b['sizes'][t]}" for t in a["sizes"]})


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page and variant")
    parser.add_argument("--reuse", action="store_true", help="keep the generated book (and what of the rest is done)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file (for --compare)")
    parser.add_argument(
        "--renice",
        type=int,
        default=0,
        help="on a shared machine: run the measurements at this niceness (e.g. -15; root), Postgres backend included",
    )
    parser.add_argument("--compare", type=Path, nargs=2, metavar="JSON", help="print two runs side by side")
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
        return

    default_url = f"postgres://postgres@127.0.0.1:5432/riskdesk_bench_dashboards_{args.loans}"
    url, env = close_day.bench_environment(default_url, AS_OF + timedelta(days=1))
    if not args.reuse:
        close_day.recreate_database(url)
        close_day.manage("migrate", "--verbosity", "0", env=env)
        started = time.perf_counter()
        close_day.manage(
            "generate_book", "--loans", str(args.loans), "--as-of", AS_OF.isoformat(), "--verbosity", "0", env=env
        )
        print(f"generate_book --loans {args.loans}: {time.perf_counter() - started:.1f} s")
    import django

    django.setup()
    from riskdesk.core.models import ClosedDay
    from riskdesk.lending.models import LoanMonthSnapshot, PortfolioSnapshot

    # Each stage runs unless done, so a --reuse after an interrupted run picks up where it stopped.
    if not LoanMonthSnapshot.objects.filter(month_end=PREVIOUS_MONTH_END).exists():
        print(f"book prepared: {prepare_book()}")
    if not ClosedDay.objects.filter(business_date=AS_OF).exists():
        from riskdesk.dashboards.models import LossGivenDefault

        # The migrations give a default LGD; a bench database migrated before that one got none.
        if not LossGivenDefault.objects.filter(product=None).exists():
            LossGivenDefault.objects.create(product=None, effective_from=date(2000, 1, 1), lgd=Decimal("0.45"))
        night = close_day.close_in_child(env, AS_OF)
        print(f"close of day {AS_OF}: {night['seconds']:.1f} s, peak RSS {night['peak_rss_mb']:.0f} MB")
        for step, run in night["runs"].items():
            print(f"  {step:<24} {run['ms']:>7} ms  {run['rows']}")
    if not PortfolioSnapshot.objects.filter(business_date=AS_OF - timedelta(days=1)).exists():
        started = time.perf_counter()
        history = add_history()
        print(f"history copied in {time.perf_counter() - started:.1f} s (set-based, shifted dates): {history}")

    sizes = aggregate_sizes()
    if args.renice:
        print(f"niceness {renice(args.renice)} for this process and its Postgres backend")
    pages = measure_pages(args.repeat)
    baseline = measure_baseline(BASELINE_REPEAT)
    print_results(args.loans, sizes, pages, baseline)
    if args.json:
        args.json.write_text(
            json.dumps({"loans": args.loans, "sizes": sizes, "pages": pages, "baseline": baseline}, indent=1)
        )


if __name__ == "__main__":
    main()
