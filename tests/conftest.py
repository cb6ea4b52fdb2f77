"""Shared fixtures: a pinned business date, a product, a borrower with a line, users per role."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client

from riskdesk.core import roles
from riskdesk.lending import services
from riskdesk.lending.models import Borrower, CreditLine, Loan, Product

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    """Tests log users in often; the production hasher costs seconds per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture(autouse=True)
def business_date(settings: pytest.FixtureRequest) -> date:
    """Pin the business date; a test moves it with settings.BUSINESS_DATE_OVERRIDE."""
    settings.BUSINESS_DATE_OVERRIDE = TODAY.isoformat()
    return TODAY


@pytest.fixture
def product(db: None) -> Product:
    return Product.objects.create(
        code="jiebei",
        name="Jiebei credit line",
        daily_rate=Decimal("0.00045"),
        penalty_multiplier=Decimal("1.5"),
        methods=["equal_installment", "equal_principal", "interest_first", "bullet"],
        terms=[1, 3, 6, 12, 24, 30, 60],
        min_amount=Decimal("100.00"),
        max_amount=Decimal("200000.00"),
    )


@pytest.fixture
def borrower(db: None) -> Borrower:
    return services.borrower_register(
        name="张三",
        national_id="110101199001011234",
        phones=[{"number": "13800138000", "label": "mobile"}],
        email="zhangsan@example.com",
    )


@pytest.fixture
def credit_line(borrower: Borrower) -> CreditLine:
    return services.credit_line_open(borrower=borrower, limit=Decimal("100000.00"))


@pytest.fixture
def make_loan(product: Product, credit_line: CreditLine) -> Callable[..., Loan]:
    def make(
        principal: str = "12000.00",
        term: int = 12,
        method: str = "equal_installment",
        disbursed_on: date = date(2026, 1, 31),
    ) -> Loan:
        return services.loan_originate(
            credit_line=credit_line,
            product=product,
            principal=Decimal(principal),
            term=term,
            method=method,
            disbursed_on=disbursed_on,
        )

    return make


@pytest.fixture
def users(db: None) -> dict[str, User]:
    """One user per role, named after it, password 'pw-<role>'."""
    made = {}
    for role in roles.ALL_ROLES:
        user = User.objects.create_user(username=role, password=f"pw-{role}")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        made[role] = user
    return made


def client_for(user: User) -> Client:
    """A test client logged in as `user`."""
    client = Client()
    client.force_login(user)
    return client


def run_concurrently(target: Callable[[int], object], count: int) -> list[BaseException]:
    """Run target(0..count-1) in threads released together; return what they raised.

    Each thread closes its own database connection, as a real worker process would.
    """
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        barrier.wait()
        try:
            target(k)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def redis_url() -> str:
    """The Redis `make test` found; tests needing it skip without, but fail under CI=true."""
    url = os.environ.get("RISKDESK_TEST_REDIS_URL", "")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true requires Redis (RISKDESK_TEST_REDIS_URL)")
        pytest.skip("no Redis reachable")
    return url


@pytest.fixture
def any_attempt_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the API log attempts at any past instant: for tests of the gate's answer at a chosen time.

    The API takes an attempt only as it happens (15 minutes' grace); these tests pick
    instants like 22:30 Shanghai time whatever the clock says.
    """
    from datetime import timedelta

    from riskdesk.collections import api

    monkeypatch.setattr(api, "LOG_WINDOW", timedelta(days=3650))
