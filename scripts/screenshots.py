"""Look at the web desk in a real browser: seed a small book, then screenshot its pages.

    export DATABASE_URL=sqlite:////tmp/riskdesk_web.sqlite3 BUSINESS_DATE_OVERRIDE=2026-11-23
    .venv/bin/python manage.py migrate
    .venv/bin/python scripts/screenshots.py seed
    .venv/bin/python manage.py runserver 127.0.0.1:8011 &
    .venv/bin/python scripts/screenshots.py shoot --base http://127.0.0.1:8011 --out screenshots

The scorecard pages need a trained, monitored book: shoot them from the demo book.

    export DATABASE_URL=sqlite:////tmp/riskdesk_demo.sqlite3
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo
    .venv/bin/python manage.py runserver 127.0.0.1:8012 &
    .venv/bin/python scripts/screenshots.py shoot-models --base http://127.0.0.1:8012 --out screenshots

The dashboards, in English and Chinese as the risk officer, and the grace-policy preview
(a draft with a longer grace) as the admin, also from the demo book (`make run` seeds it):

    .venv/bin/python scripts/screenshots.py shoot-dashboards --base http://127.0.0.1:8012 --out screenshots

Uses the system's Chromium (Debian's /usr/bin/chromium); never `playwright install`.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AS_OF = date(2026, 11, 22)


def seed() -> dict[str, int]:
    """A small book through the services: overdue, in grace, cured and cooling off, current."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskdesk.settings")
    import django

    django.setup()
    from django.contrib.auth.models import Group, User

    from riskdesk import nightly
    from riskdesk.core import roles
    from riskdesk.lending import services
    from riskdesk.lending.models import Loan, Product

    for role in roles.ALL_ROLES:
        user, _ = User.objects.get_or_create(username=role)
        user.set_password(f"pw-{role}")
        user.save()
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    product, _ = Product.objects.get_or_create(
        code="jiebei",
        defaults={
            "name": "Jiebei credit line",
            "methods": ["equal_installment", "equal_principal", "interest_first", "bullet"],
            "terms": [3, 6, 12, 24],
            "min_amount": Decimal("500.00"),
        },
    )
    people = [
        ("张伟", "110101198703150012", "13800138001", "13911112222"),
        ("李娜", "310104199208200028", "13900139002", ""),
        ("王芳", "440305199510210043", "13700137003", ""),
        ("刘洋", "510107198812050056", "13600136004", ""),
        ("陈静", "330106199001010069", "13500135005", ""),
        ("杨磊", "120102198506060071", "13400134006", ""),
    ]
    lines = []
    for name, national_id, phone, work_phone in people:
        phones = [{"number": phone, "label": "mobile"}] + (
            [{"number": work_phone, "label": "work"}] if work_phone else []
        )
        borrower = services.borrower_register(
            name=name,
            national_id=national_id,
            phones=phones,
            email=f"{national_id[-4:]}@example.com",
            emergency_contacts=[{"name": "赵敏", "phone": "13612345678", "relationship": "sibling", "consent": True}],
        )
        lines.append(services.credit_line_open(borrower=borrower, limit=Decimal("50000.00"), on=date(2026, 3, 1)))

    def originate(
        line: object, principal: str, term: int, disbursed_on: date, method: str = "equal_installment"
    ) -> Loan:
        return services.loan_originate(
            credit_line=line,
            product=product,
            principal=Decimal(principal),
            term=term,
            method=method,
            disbursed_on=disbursed_on,
        )

    def pay(loan: Loan, seq: int, on: date, extra: str = "0.00", key: str = "") -> object:
        inst = loan.installments.get(seq=seq)
        amount = inst.principal_due + inst.interest_due + Decimal(extra)
        payment, _ = services.payment_post(
            loan=loan,
            amount=amount,
            value_date=on,
            kind="regular",
            channel="autodebit",
            idempotency_key=key or f"seed-{loan.pk}-{seq}-{on}",
        )
        return payment

    # Overdue: six installments paid on time, the 7th (due 2026-10-15) missed; a bounced autodebit.
    overdue = originate(lines[0], "12000.00", 12, date(2026, 3, 15))
    for seq in range(1, 7):
        pay(overdue, seq, overdue.installments.get(seq=seq).due_date)
    services.autodebit_failure_record(
        loan=overdue, attempted_on=date(2026, 10, 15), amount=Decimal("1097.50"), cause="insufficient_funds"
    )
    bounced = pay(overdue, 7, date(2026, 11, 2), key="seed-bounced")
    services.payment_reverse(payment=bounced, reason="autodebit bounced: insufficient funds")
    # Cured after grace: 2nd installment paid ten days late, the line now cooling off.
    cured = originate(lines[1], "6000.00", 6, date(2026, 8, 20))
    pay(cured, 1, date(2026, 9, 20))
    pay(cured, 2, date(2026, 10, 30), extra="10.00")
    # In grace: due 2026-11-21, unpaid on 2026-11-22.
    in_grace = originate(lines[2], "3000.00", 3, date(2026, 10, 21))
    services.autodebit_failure_record(
        loan=in_grace, attempted_on=date(2026, 11, 21), amount=Decimal("1040.00"), cause="lender_outage"
    )
    # Current loans, a few methods.
    originate(lines[3], "20000.00", 12, date(2026, 9, 5), method="equal_principal")
    originate(lines[4], "8000.00", 6, date(2026, 10, 8), method="interest_first")
    originate(lines[5], "15000.00", 24, date(2026, 6, 28))
    nightly.close_days(as_of=AS_OF)
    return {"overdue": overdue.pk, "cured": cured.pk, "in_grace": in_grace.pk, **seed_collections(overdue)}


def seed_collections(overdue: object) -> dict[str, int]:
    """The overdue borrower's case, assigned to the collector, with a day of attempts and a promise."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.contrib.auth.models import User

    from riskdesk.collections import cases, contact, promises
    from riskdesk.collections.models import Case

    shanghai = ZoneInfo("Asia/Shanghai")
    collector, supervisor = User.objects.get(username="collector"), User.objects.get(username="collections_supervisor")
    case = Case.objects.get(borrower=overdue.borrower, status=Case.Status.OPEN)
    cases.case_assign(case=case, collector=collector, actor=supervisor)
    mobile, work = overdue.borrower.contact_points.filter(kind="phone").order_by("id")
    contact.contact_restriction_add(
        borrower=overdue.borrower, kind="opt_out", channel="sms", actor=collector, reason="asked on the phone"
    )
    day = [
        (datetime(2026, 11, 22, 10, 5, tzinfo=shanghai), mobile, "no_answer", ""),
        (datetime(2026, 11, 22, 14, 40, tzinfo=shanghai), work, "wrong_number", "not his office any more"),
        (datetime(2026, 11, 22, 19, 15, tzinfo=shanghai), mobile, "promise_to_pay", "will pay on Friday"),
        (datetime(2026, 11, 22, 22, 20, tzinfo=shanghai), mobile, "no_answer", ""),
    ]
    for at, point, outcome, note in day:
        try:
            contact.contact_attempt_log(
                case=case,
                channel="call",
                at=at,
                outcome=outcome,
                actor=collector,
                source="collector",
                contact_point=point,
                note=note,
            )
        except contact.ContactBlocked:
            pass  # the 22:20 call falls in quiet hours: recorded as blocked, as on the desk
    promises.promise_create(case=case, amount=Decimal("1000.00"), due_on=date(2026, 11, 27), actor=collector)
    return {"case": case.pk}


def shoot(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for lang in ("en", "zh-hans"):
            suffix = "en" if lang == "en" else "zh"
            page = browser.new_page(viewport={"width": 1400, "height": 900}, locale=lang)
            page.goto(f"{base}/login/")
            page.evaluate(f"document.cookie = 'django_language={lang}; path=/'")
            page.goto(f"{base}/login/")
            page.screenshot(path=out / f"login-{suffix}.png")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "pw-admin")
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.screenshot(path=out / f"operations-{suffix}.png")
            page.goto(f"{base}/loans/")
            page.screenshot(path=out / f"loan-search-{suffix}.png", full_page=True)
            for name, loan_id in (("delinquent", 1), ("frozen-line", 2)):
                page.goto(f"{base}/loans/{loan_id}/?quote_on=2026-11-23")
                page.screenshot(path=out / f"loan-{name}-{suffix}.png", full_page=True)
            page.close()
        # The masked view of a collector.
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en")
        page.goto(f"{base}/login/")
        page.evaluate("document.cookie = 'django_language=en; path=/'")
        page.fill("#id_username", "collector")
        page.fill("#id_password", "pw-collector")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{base}/loans/3/")
        page.screenshot(path=out / "loan-in-grace-collector-en.png", full_page=True)
        page.close()
        for lang in ("en", "zh-hans"):
            shoot_case_page(browser, base, out, lang)
        shoot_team_page(browser, base, out)
        browser.close()


def shoot_case_page(browser: object, base: str, out: Path, lang: str) -> None:
    """The collector's case page, after trying an SMS the gate blocks (the borrower opted out of SMS)."""
    suffix = "en" if lang == "en" else "zh"
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale=lang)
    page.goto(f"{base}/login/")
    page.evaluate(f"document.cookie = 'django_language={lang}; path=/'")
    page.fill("#id_username", "collector")
    page.fill("#id_password", "pw-collector")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.screenshot(path=out / f"collections-queue-{suffix}.png", full_page=True)
    page.click("table.queue tbody tr a")
    page.wait_for_load_state()
    page.select_option("#attempt-form select[name=contact_point]", index=0)  # the mobile: phones come first
    page.select_option("#attempt-form select[name=channel]", "sms")
    page.select_option("#attempt-form select[name=outcome]", "sent")
    page.click("#attempt-form button[type=submit]")
    page.wait_for_selector("#attempt-result:not([hidden])")
    page.wait_for_timeout(1800)  # let the new timeline entry's highlight fade
    page.screenshot(path=out / f"collections-case-{suffix}.png", full_page=True)
    page.close()


def shoot_team_page(browser: object, base: str, out: Path) -> None:
    """The supervisor's team page: queues, workloads against caps, approvals, bulk reassignment."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="en")
    page.goto(f"{base}/login/")
    page.evaluate("document.cookie = 'django_language=en; path=/'")
    page.fill("#id_username", "collections_supervisor")
    page.fill("#id_password", "pw-collections_supervisor")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.screenshot(path=out / "collections-team-en.png", full_page=True)
    page.close()


def _demo_login(browser: object, base: str, lang: str, username: str, password: str) -> object:
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale=lang)
    page.goto(f"{base}/login/")
    page.evaluate(f"document.cookie = 'django_language={lang}; path=/'")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _shoot_full(page: object, base: str, path: str, target: Path) -> None:
    page.goto(base + path)
    page.wait_for_load_state("networkidle")  # plotly.js, then the charts
    page.wait_for_timeout(500)
    page.screenshot(path=target, full_page=True)


def demo_ids() -> dict[str, int]:
    """The demo book's champion and challenger, and an open loan in collections whose line a downgrade cut."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskdesk.settings")
    import django

    django.setup()
    from riskdesk.riskmodels.models import LimitReduction, ModelVersion

    cut = (
        LimitReduction.objects.filter(band_change__loan__status="active", band_change__loan__cases__status="open")
        .select_related("band_change")
        .order_by("-band_change__on", "pk")
        .first()
    )
    return {
        "champion": ModelVersion.objects.get(status="champion").pk,
        "challenger": ModelVersion.objects.filter(status="challenger").order_by("-version").first().pk,
        "loan": cut.band_change.loan_id,
        "case": cut.band_change.loan.cases.get(status="open").pk,
    }


def shoot_models(base: str, out: Path) -> None:
    """The registry, the champion's page, the challenger's page with the admin's promote form, a loan's risk."""
    from playwright.sync_api import sync_playwright

    ids = demo_ids()
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for lang in ("en", "zh-hans"):
            suffix = "en" if lang == "en" else "zh"
            page = _demo_login(browser, base, lang, "admin", "riskdesk-admin")  # the demo's documented login
            shots = [
                ("models-registry", "/models/"),
                ("model-champion", f"/models/{ids['champion']}/"),
                ("model-challenger", f"/models/{ids['challenger']}/"),
                ("loan-risk", f"/loans/{ids['loan']}/"),
                ("case-risk", f"/collections/cases/{ids['case']}/"),
            ]
            for name, path in shots:
                _shoot_full(page, base, path, out / f"{name}-{suffix}.png")
            page.close()
        browser.close()


DASHBOARD_PAGES = [
    ("dashboard-portfolio", "/dashboards/portfolio/"),
    ("dashboard-roll-rates", "/dashboards/roll-rates/"),
    ("dashboard-vintages", "/dashboards/vintages/"),
    ("dashboard-expected-loss", "/dashboards/expected-loss/"),
    ("dashboard-collections", "/dashboards/collections/"),
    ("dashboard-compliance", "/dashboards/compliance/"),
]


def shoot_dashboards(base: str, out: Path) -> None:
    """Each dashboard (risk officer), a filtered portfolio, operations and the grace preview (admin), en and zh."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for lang in ("en", "zh-hans"):
            suffix = "en" if lang == "en" else "zh"
            page = _demo_login(browser, base, lang, "risk_officer", "riskdesk-risk")  # the demo's documented login
            for name, path in DASHBOARD_PAGES:
                _shoot_full(page, base, path, out / f"{name}-{suffix}.png")
            page.close()
            page = _demo_login(browser, base, lang, "admin", "riskdesk-admin")
            _shoot_full(page, base, "/operations/", out / f"dashboard-operations-{suffix}.png")
            # A draft policy with two more days of grace, previewed against the policy in force.
            page.goto(f"{base}/grace-policies/preview/?kind=policy")
            grace = page.locator("input[name=grace_days]")
            grace.fill(str(int(grace.input_value() or 0) + 2))
            page.click("button[name=preview]")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=out / f"grace-preview-{suffix}.png", full_page=True)
            page.close()
        # The filter bar at work: the 12-month loans of one origination half-year.
        page = _demo_login(browser, base, "en", "risk_officer", "riskdesk-risk")
        _shoot_full(
            page,
            base,
            "/dashboards/portfolio/?term=12&orig_from=2025-07&orig_to=2025-12",
            out / "dashboard-portfolio-filtered-en.png",
        )
        page.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("seed", help="create the small book (an empty, migrated database)")
    shoot_parser = sub.add_parser("shoot", help="screenshot the pages of a running server")
    shoot_parser.add_argument("--base", default="http://127.0.0.1:8011")
    shoot_parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    models_parser = sub.add_parser("shoot-models", help="screenshot the scorecard pages of a server on the demo book")
    models_parser.add_argument("--base", default="http://127.0.0.1:8012")
    models_parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    dashboards_parser = sub.add_parser(
        "shoot-dashboards", help="screenshot the dashboards of a server on the demo book"
    )
    dashboards_parser.add_argument("--base", default="http://127.0.0.1:8012")
    dashboards_parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args()
    if args.command == "seed":
        print(seed())
    elif args.command == "shoot-models":
        shoot_models(args.base, args.out)
    elif args.command == "shoot-dashboards":
        shoot_dashboards(args.base, args.out)
    else:
        shoot(args.base, args.out)


if __name__ == "__main__":
    main()
