"""The demo book: a believable lending history, simulated day by day through the services.

Every borrower gets a behaviour (prompt, late, struggling, curing, prepaying, paying off
early) and a plan drawn from `random.Random` seeded by (seed, borrower), so the plan is
a pure function of the seed and the borrower. The plan only says *when* a borrower acts
and *how* (pay what is due, pay part of it, prepay a share, pay off); the amount is read
from the loan's state on that day (what is due, the next installment, the payoff quote),
so every payment is one the services accept. The same seed gives the same book.

The simulation closes every business day with the nightly chain, in order, with the
business date pinned to the simulated day + 1 (services refuse future dates).

Scoring joins the story as a lender's would: a limit policy from the first day (a
downgrade into band D or E cuts the line by 30 %, never below 1,000); scorecard v1
trained on the book's own matured history CHAMPION_DAYS_BEFORE_END days before
yesterday and promoted by the admin, so the nightly chain scores the remaining months
(monitoring, matured months' performance, band changes, limit cuts); and v2 retrained
CHALLENGER_DAYS_BEFORE_END days before yesterday as a challenger, so the last month
shows the two side by side. A book too young to train on (a small seed) skips them,
and the report says why.
"""

from __future__ import annotations

import contextlib
import random
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from riskdesk import nightly
from riskdesk.collections import cases, complaints, contact, promises, reminders
from riskdesk.collections.models import Case, Channel, Complaint, ContactAttempt, ContactRestriction, Reminder
from riskdesk.core import roles
from riskdesk.core.dates import add_months, business_today
from riskdesk.core.errors import DomainError
from riskdesk.core.models import ClosedDay
from riskdesk.core.money import ZERO, quantize_money
from riskdesk.lending import schedule, selectors, services
from riskdesk.lending.models import AutodebitFailure, Borrower, CreditLine, GracePolicy, Loan, Payment, Product
from riskdesk.riskmodels import services as riskmodels_services
from riskdesk.riskmodels import training
from riskdesk.riskmodels.models import (
    BandChange,
    LimitReduction,
    ModelMonitor,
    ModelPerformance,
    ModelStatusChange,
    ModelVersion,
)

# -- demo users --------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    superuser: bool = False


# Simple, documented passwords: this is a demo on 127.0.0.1, never a deployment.
DEMO_LOGINS = (
    DemoLogin("admin", "riskdesk-admin", roles.ADMIN, superuser=True),
    DemoLogin("risk_officer", "riskdesk-risk", roles.RISK_OFFICER),
    DemoLogin("supervisor", "riskdesk-supervisor", roles.SUPERVISOR),
    DemoLogin("collector1", "riskdesk-collector", roles.COLLECTOR),
    DemoLogin("collector2", "riskdesk-collector", roles.COLLECTOR),
)


def demo_users_ensure() -> list[tuple[DemoLogin, bool]]:
    """Create the demo users that are missing, each in its role's group; return (login, created)."""
    made = []
    for login in DEMO_LOGINS:
        user, created = User.objects.get_or_create(username=login.username)
        if created:
            user.set_password(login.password)
            user.is_staff = user.is_superuser = login.superuser
            user.save()
        user.groups.add(Group.objects.get_or_create(name=login.role)[0])
        made.append((login, created))
    return made


# -- products and policies ---------------------------------------------------------


@dataclass(frozen=True)
class DemoProduct:
    code: str
    name: str
    daily_rate: Decimal
    methods: tuple[str, ...]
    terms: tuple[int, ...]
    min_amount: Decimal
    max_amount: Decimal
    share: float
    # Short terms dominate (and every installment paid is a payment the seed replays).
    term_weights: tuple[int, ...]


DEMO_PRODUCTS = (
    DemoProduct(
        "jiebei",
        "借呗 credit line",
        Decimal("0.00045"),
        (schedule.EQUAL_INSTALLMENT, schedule.EQUAL_PRINCIPAL),
        (3, 6, 12),
        Decimal("500.00"),
        Decimal("50000.00"),
        0.45,
        (7, 2, 1),
    ),
    DemoProduct(
        "jiebei-plus",
        "借呗 Plus, interest first",
        Decimal("0.00040"),
        (schedule.INTEREST_FIRST,),
        (6, 12),
        Decimal("2000.00"),
        Decimal("100000.00"),
        0.1,
        (4, 1),
    ),
    DemoProduct(
        "quick",
        "Quick cash, one repayment",
        Decimal("0.00050"),
        (schedule.BULLET,),
        (30, 60),
        Decimal("300.00"),
        Decimal("10000.00"),
        0.45,
        (1, 1),
    ),
)


def demo_products_ensure() -> dict[str, Product]:
    """The demo products, created when missing (an admin may have made them already)."""
    products = {}
    for spec in DEMO_PRODUCTS:
        products[spec.code], _ = Product.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "daily_rate": spec.daily_rate,
                "penalty_multiplier": Decimal("1.5"),
                "methods": list(spec.methods),
                "terms": list(spec.terms),
                "min_amount": spec.min_amount,
                "max_amount": spec.max_amount,
            },
        )
    return products


# -- borrowers ---------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
)
GIVEN_NAMES = (
    "伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 华 红 玉兰 建国 志强 "
    "海燕 晓明 丹 萍 鑫 宇 浩 欣怡 子涵 梓萱 一诺 俊杰 婷 雪 琳 晨 颖 佳 思远 嘉怡 浩然 雨轩 昊 凯 鹏 辉 斌 "
    "倩 慧 莉 燕 佳琪 春梅 国庆 宏 博 皓轩 梦瑶 诗涵 志明 晓燕 丽华 秀珍 桂兰 立新 卫东"
).split()
RELATIONSHIPS = ("配偶", "父亲", "母亲", "兄弟", "姐妹", "朋友", "同事")
# Region codes of the 6-digit administrative division prefix of a resident ID.
REGIONS = ("110101", "310104", "440106", "440305", "330106", "320102", "510104", "420102", "610113", "500103")
OTHER_TIMEZONES = ("Asia/Hong_Kong", "Asia/Singapore", "Asia/Tokyo", "Europe/London", "America/Los_Angeles")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def national_id(rng: random.Random) -> str:
    """An 18-character resident ID: region, birth date, sequence, ISO 7064 MOD 11-2 check."""
    birth = date(1965, 1, 1) + timedelta(days=rng.randrange(365 * 38))
    body = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]
    return body + check


# City and district of a home address: the part a masked address keeps (masking.mask_address).
DISTRICTS = ("北京市朝阳区", "上海市静安区", "广州市天河区", "深圳市南山区", "杭州市西湖区", "成都市武侯区")


def home_address(rng: random.Random) -> str:
    return f"{rng.choice(DISTRICTS)}{rng.choice(('建国路', '人民路', '中山路', '解放路'))}{rng.randrange(1, 300)}号"


def card_number(rng: random.Random) -> str:
    """A 16-digit UnionPay-style card number (62...) with its Luhn check digit."""
    body = "62" + "".join(str(rng.randrange(10)) for _ in range(13))
    total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(map(int, reversed(body))))
    return body + str(-total % 10)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def phone_number(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


class Behaviour(StrEnum):
    PROMPT = "prompt"
    LATE = "late"
    STRUGGLER = "struggler"
    CURER = "curer"
    PREPAYER = "prepayer"
    PAYOFF = "payoff"


BEHAVIOURS = {
    Behaviour.PROMPT: 55,
    Behaviour.LATE: 15,
    Behaviour.STRUGGLER: 8,
    Behaviour.CURER: 8,
    Behaviour.PREPAYER: 7,
    Behaviour.PAYOFF: 7,
}
SOFT_FAILURES = (
    AutodebitFailure.Cause.INSUFFICIENT_FUNDS,
    AutodebitFailure.Cause.INSUFFICIENT_FUNDS,
    AutodebitFailure.Cause.BANK_ERROR,
    AutodebitFailure.Cause.CARD_EXPIRED,
)


@dataclass(frozen=True)
class LoanPlan:
    product: str
    method: str
    term: int
    principal: Decimal
    disbursed_on: date

    def due_dates(self) -> list[date]:
        periods = schedule.periods_for(disbursed_on=self.disbursed_on, term=self.term, method=self.method)
        return [p.due for p in periods]


@dataclass(frozen=True)
class Action:
    """What a borrower does on a day; the amount comes from the loan's state then."""

    day: date
    kind: str  # pay_due, pay_early, partial, prepay, payoff, fail
    share: Decimal = Decimal("1")
    cause: str = ""
    channel: str = Payment.Channel.APP


@dataclass
class BorrowerPlan:
    index: int
    name: str
    national_id: str
    phone: str
    timezone: str
    language: str
    limit: Decimal
    behaviour: Behaviour
    autodebit: bool
    emergency_contact: dict[str, object] | None
    loans: list[LoanPlan] = field(default_factory=list)
    actions: list[list[Action]] = field(default_factory=list)


@dataclass(frozen=True)
class Outage:
    start: date
    end: date

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


def borrower_rng(seed: int, index: int, *parts: object) -> random.Random:
    """A generator for one borrower (and loan): string seeds hash the same in every process."""
    return random.Random(":".join(str(p) for p in ("riskdesk-demo", seed, index, *parts)))


def plan_borrower(
    seed: int, index: int, first_day: date, last_day: date, outage: Outage, used_ids: set[str]
) -> BorrowerPlan:
    rng = borrower_rng(seed, index)
    nid = national_id(rng)
    while nid in used_ids:
        nid = national_id(rng)
    used_ids.add(nid)
    abroad = rng.random() < 0.05
    plan = BorrowerPlan(
        index=index,
        name=person_name(rng),
        national_id=nid,
        phone=phone_number(rng),
        timezone=rng.choice(OTHER_TIMEZONES) if abroad else "Asia/Shanghai",
        language="en" if abroad or rng.random() < 0.08 else "zh-hans",
        limit=Decimal(rng.randrange(5, 61) * 1000),
        behaviour=rng.choices(list(BEHAVIOURS), weights=list(BEHAVIOURS.values()))[0],
        autodebit=rng.random() < 0.6,
        emergency_contact=None,
    )
    if rng.random() < 0.4:
        plan.emergency_contact = {
            "name": person_name(rng),
            "phone": phone_number(rng),
            "relationship": rng.choice(RELATIONSHIPS),
            "consent": True,
        }
    # A growing lender: originations rise towards today (density grows linearly).
    span = max((last_day - first_day).days - 3, 1)
    first = first_day + timedelta(days=int(span * rng.triangular(0, 1, 1)))
    plan.loans.append(plan_loan(rng, first, plan.limit))
    if rng.random() < 0.2 and (last_day - first).days > 40:
        second = first + timedelta(days=rng.randrange(20, (last_day - first).days))
        plan.loans.append(plan_loan(rng, second, plan.limit))
    for k, loan in enumerate(plan.loans):
        actions = plan_actions(borrower_rng(seed, index, k), plan, loan.due_dates(), loan.disbursed_on)
        plan.actions.append(with_outage(actions, outage, plan.autodebit, borrower_rng(seed, index, k, "outage")))
    return plan


def plan_loan(rng: random.Random, disbursed_on: date, limit: Decimal) -> LoanPlan:
    spec = rng.choices(DEMO_PRODUCTS, weights=[p.share for p in DEMO_PRODUCTS])[0]
    high = min(spec.max_amount, limit * Decimal("0.45"))
    hundreds = rng.randrange(int(spec.min_amount) // 100, max(int(high) // 100, int(spec.min_amount) // 100) + 1)
    return LoanPlan(
        product=spec.code,
        method=rng.choice(spec.methods),
        term=rng.choices(spec.terms, weights=spec.term_weights)[0],
        principal=Decimal(hundreds * 100),
        disbursed_on=disbursed_on,
    )


def plan_actions(rng: random.Random, borrower: BorrowerPlan, dues: list[date], disbursed_on: date) -> list[Action]:
    """When and how this borrower pays each installment of one loan, by behaviour."""
    on_time = Payment.Channel.AUTODEBIT if borrower.autodebit else Payment.Channel.APP
    behaviour = borrower.behaviour
    actions: list[Action] = []

    def pay(due: date, late_chance: float) -> None:
        if rng.random() < late_chance:
            if borrower.autodebit:
                actions.append(Action(due, "fail", cause=rng.choice(SOFT_FAILURES)))
            # Half of the late payments land inside the grace period, half after it.
            days = rng.randint(1, 3) if rng.random() < 0.5 else rng.randint(4, 20)
            actions.append(Action(due + timedelta(days=days), "pay_due", channel=Payment.Channel.APP))
        elif not borrower.autodebit and rng.random() < 0.2:
            actions.append(Action(due - timedelta(days=rng.randint(1, 3)), "pay_early"))
        else:
            actions.append(Action(due, "pay_due", channel=on_time))

    late_chance = {Behaviour.LATE: 0.4, Behaviour.STRUGGLER: 0.3}.get(behaviour, 0.02)
    if behaviour == Behaviour.STRUGGLER:
        stop = rng.randrange(len(dues))
        for due in dues[:stop]:
            pay(due, late_chance)
        for due in dues[stop:]:
            if borrower.autodebit:
                actions.append(Action(due, "fail", cause=AutodebitFailure.Cause.INSUFFICIENT_FUNDS))
            if rng.random() < 0.35:
                share = Decimal(rng.randint(15, 60)) / 100
                actions.append(Action(due + timedelta(days=rng.randint(5, 25)), "partial", share=share))
        return actions
    if behaviour == Behaviour.CURER:
        missed = rng.randrange(len(dues))
        skipped = 2 if rng.random() < 0.4 and missed + 1 < len(dues) else 1
        catch_up = dues[missed + skipped - 1] + timedelta(days=rng.randint(8, 40))
        for due in dues[:missed]:
            pay(due, late_chance)
        for due in dues[missed : missed + skipped]:
            if borrower.autodebit:
                actions.append(Action(due, "fail", cause=AutodebitFailure.Cause.INSUFFICIENT_FUNDS))
        actions.append(Action(catch_up, "pay_due", channel=Payment.Channel.BANK_TRANSFER))
        for due in dues[missed + skipped :]:
            if due > catch_up:
                pay(due, late_chance)
        return actions
    for due in dues:
        pay(due, late_chance)
    if behaviour == Behaviour.PREPAYER:
        day = disbursed_on + timedelta(days=rng.randint(10, max((dues[-1] - disbursed_on).days - 10, 11)))
        actions.append(Action(day, "prepay", share=Decimal(rng.randint(20, 60)) / 100))
    elif behaviour == Behaviour.PAYOFF:
        day = disbursed_on + timedelta(days=rng.randint(15, max((dues[-1] - disbursed_on).days - 5, 16)))
        actions.append(Action(day, "payoff", channel=Payment.Channel.BANK_TRANSFER))
    return actions


def with_outage(actions: list[Action], outage: Outage, autodebit: bool, rng: random.Random) -> list[Action]:
    """An autodebit that falls in the lender's outage fails; the borrower pays a few days later."""
    if not autodebit:
        return actions
    moved: list[Action] = []
    for action in actions:
        if action.channel == Payment.Channel.AUTODEBIT and outage.covers(action.day):
            moved.append(Action(action.day, "fail", cause=AutodebitFailure.Cause.LENDER_OUTAGE))
            retry = outage.end + timedelta(days=rng.randint(1, 4))
            moved.append(Action(retry, "pay_due", channel=Payment.Channel.AUTODEBIT))
        else:
            moved.append(action)
    return moved


# -- the simulation ----------------------------------------------------------------


@dataclass
class SeedReport:
    borrowers: int = 0
    loans: int = 0
    loans_refused: Counter[str] = field(default_factory=Counter)
    payments_refused: Counter[str] = field(default_factory=Counter)
    days: int = 0
    # "v1 trained on ... and promoted", or why a model was not trained.
    models: list[str] = field(default_factory=list)


# The champion scores the last ~5 months: enough nights for monitoring to show a trend
# and for the first scored month ends to mature (60 days), while v1 still trains on
# about 14 months of history (20 months of book by default).
CHAMPION_DAYS_BEFORE_END = 150
# v2 comes near the end, early enough to score a month of nights beside the champion.
CHALLENGER_DAYS_BEFORE_END = 30
# The collections desk works the last COLLECTIONS_DAYS simulated days before each close,
# so the collections and compliance dashboards have a quarter of history.
COLLECTIONS_DAYS = 90
# The lender's limit policy from the first day: a downgrade into D or E cuts 30 %.
LIMIT_POLICY = {"reduce_on_bands": "DE", "reduce_by": Decimal("0.300"), "minimum_limit": Decimal("1000.00")}


def book_is_empty() -> bool:
    return not (Loan.objects.exists() or ClosedDay.objects.exists())


@contextmanager
def business_date_pinned(day: date) -> Iterator[None]:
    """Pin business_today() to `day` (restoring the previous override afterwards)."""
    previous = settings.BUSINESS_DATE_OVERRIDE
    settings.BUSINESS_DATE_OVERRIDE = day.isoformat()
    try:
        yield
    finally:
        settings.BUSINESS_DATE_OVERRIDE = previous


class DemoBook:
    """The day-by-day simulation of a demo book of `borrowers` over `months`."""

    def __init__(self, *, seed: int, borrowers: int, months: int) -> None:
        self.seed = seed
        self.last_day = business_today() - timedelta(days=1)
        self.first_day = add_months(self.last_day, -months)
        span = (self.last_day - self.first_day).days
        outage_start = self.first_day + timedelta(days=span * 11 // 20)
        self.outage = Outage(outage_start, outage_start + timedelta(days=3))
        self.policy_day = self.first_day + timedelta(days=span * 2 // 5)
        self.champion_day = self.last_day - timedelta(days=CHAMPION_DAYS_BEFORE_END)
        self.challenger_day = self.last_day - timedelta(days=CHALLENGER_DAYS_BEFORE_END)
        self.collections_from = max(self.first_day, self.last_day - timedelta(days=COLLECTIONS_DAYS - 1))
        self.collections = DemoCollections(seed=seed, first_day=self.collections_from)
        used: set[str] = set()
        self.plans = [
            plan_borrower(seed, i, self.first_day, self.last_day, self.outage, used) for i in range(borrowers)
        ]
        self.originations: dict[date, list[tuple[BorrowerPlan, int]]] = defaultdict(list)
        self.actions: dict[date, list[tuple[BorrowerPlan, int, Action]]] = defaultdict(list)
        for plan in self.plans:
            for k, loan in enumerate(plan.loans):
                self.originations[loan.disbursed_on].append((plan, k))
                for action in plan.actions[k]:
                    if action.day <= self.last_day:
                        self.actions[action.day].append((plan, k, action))
        self.lines: dict[int, CreditLine] = {}
        self.loan_ids: dict[tuple[int, int], int] = {}
        self.report = SeedReport()

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=k) for k in range((self.last_day - self.first_day).days + 1)]

    def run(self, *, on_day: Callable[[date], None] | None = None) -> SeedReport:
        if not book_is_empty():
            raise DomainError("book_not_empty", "The book already has loans or closed days; seed an empty database.")
        demo_users_ensure()
        self.admin = User.objects.get(username="admin")
        self.products = demo_products_ensure()
        with business_date_pinned(self.first_day):
            self._policy_version(self.first_day, grace_days=3, note="jiebei: 3 grace days")
            riskmodels_services.limit_policy_create(
                effective_from=self.first_day,
                enabled=True,
                note="a downgrade into D or E cuts the line by 30 %",
                actor=self.admin,
                **LIMIT_POLICY,
            )
        # The simulated past keys nothing after its day closed, so the nightly week of
        # recounting collections and compliance would only redo each day six more times.
        recount_days, settings.DASHBOARDS_RECOUNT_DAYS = settings.DASHBOARDS_RECOUNT_DAYS, 1
        try:
            self._simulate_days(on_day)
        finally:
            settings.DASHBOARDS_RECOUNT_DAYS = recount_days
        self.collections.today()
        return self.report

    def _simulate_days(self, on_day: Callable[[date], None] | None) -> None:
        """Every simulated day through its close, training the scorecards on their days."""
        for day in self.days:
            # Training is its own (durable) transaction: before the day's, not inside it.
            if day == self.champion_day:
                with business_date_pinned(day):
                    self._champion_trained(as_of=day - timedelta(days=1))
            elif day == self.challenger_day:
                with business_date_pinned(day):
                    self._model_trained(as_of=day - timedelta(days=1), note="v2: retrained on every matured month end")
            with business_date_pinned(day + timedelta(days=1)), transaction.atomic():
                self.simulate_day(day)
            self.report.days += 1
            if on_day:
                on_day(day)

    def _model_trained(self, *, as_of: date, note: str) -> ModelVersion | None:
        """Train a challenger on the matured month ends up to `as_of`; None (reported) when the book is too young."""
        try:
            version = training.model_version_train(as_of=as_of, note=note, actor=self.admin)
        except DomainError as refused:
            self.report.models.append(f"no model trained on {as_of}: {refused.message}")
            return None
        # The version was trained on the simulated day, not when the demo happened to run.
        version.trained_at = simulated_noon()
        ModelVersion.objects.filter(pk=version.pk).update(trained_at=version.trained_at)
        oot = version.metrics.get("oot") or {}
        self.report.models.append(
            f"v{version.version} trained on {as_of}: out-of-time AUC {_figure(oot.get('auc'))}, KS {_figure(oot.get('ks'))}"
        )
        return version

    def _champion_trained(self, *, as_of: date) -> None:
        version = self._model_trained(as_of=as_of, note="v1: the first scorecard on the book's own history")
        if version is None:
            return
        earlier = ModelStatusChange.objects.aggregate(last=Max("pk"))["last"] or 0
        riskmodels_services.model_version_promote(
            model_version=version,
            comment="First scorecard: out-of-time validation reviewed; let it drive bands and limit cuts.",
            actor=self.admin,
        )
        ModelStatusChange.objects.filter(pk__gt=earlier).update(at=simulated_noon())
        self.report.models.append(f"v{version.version} promoted to champion on {as_of + timedelta(days=1)}")

    def simulate_day(self, day: date) -> None:
        for plan, k in self.originations.get(day, []):
            self._originate(plan, k)
        if day == self.policy_day:
            self._policy_version(
                day + timedelta(days=1), grace_days=5, note="jiebei: 5 grace days, penalty from grace end"
            )
        if day == self.outage.end + timedelta(days=1):
            # Declared the morning after, before any grace in the window runs out.
            services.incident_window_create(
                product=None,
                start=self.outage.start,
                end=self.outage.end,
                extra_grace_days=5,
                reason="Autodebit platform outage: collections could not be initiated",
                actor=self.admin,
            )
        for plan, k, action in self.actions.get(day, []):
            loan_id = self.loan_ids.get((plan.index, k))
            if loan_id is not None:
                self._act(plan, k, loan_id, action)
        if day >= self.collections_from:
            # Before the close, so the night's aggregates count the day's calls and reminders.
            self.collections.work_day(day)
        nightly.close_days(as_of=day)

    def _policy_version(self, effective_from: date, *, grace_days: int, note: str) -> GracePolicy:
        penalty_start = GracePolicy.PenaltyStart.GRACE_END if grace_days > 3 else GracePolicy.PenaltyStart.DUE_DATE
        return services.grace_policy_create(
            product=self.products["jiebei"],
            effective_from=effective_from,
            grace_days=grace_days,
            penalty_start=penalty_start,
            note=note,
            actor=self.admin,
        )

    def _originate(self, plan: BorrowerPlan, k: int) -> None:
        line = self.lines.get(plan.index) or self._register(plan, plan.loans[k].disbursed_on)
        terms = plan.loans[k]
        try:
            loan = services.loan_originate(
                credit_line=line,
                product=self.products[terms.product],
                principal=terms.principal,
                term=terms.term,
                method=terms.method,
                disbursed_on=terms.disbursed_on,
            )
        except DomainError as refused:
            # A second drawdown on a frozen or fully used line is refused, as it would be live.
            self.report.loans_refused[refused.code] += 1
            return
        self.loan_ids[(plan.index, k)] = loan.pk
        self.report.loans += 1

    def _register(self, plan: BorrowerPlan, on: date) -> CreditLine:
        borrower = services.borrower_register(
            name=plan.name,
            national_id=plan.national_id,
            phones=[{"number": plan.phone, "label": "mobile"}],
            timezone=plan.timezone,
            language=plan.language,
            emergency_contacts=[plan.emergency_contact] if plan.emergency_contact else None,
            # A generator of their own, so the book's other draws stay what they were.
            **self._address_and_card(plan),
        )
        self.lines[plan.index] = services.credit_line_open(borrower=borrower, limit=plan.limit, on=on)
        self.report.borrowers += 1
        return self.lines[plan.index]

    def _address_and_card(self, plan: BorrowerPlan) -> dict[str, str]:
        rng = borrower_rng(self.seed, plan.index, "address")
        return {"address": home_address(rng), "bank_card": card_number(rng) if plan.autodebit else ""}

    def _act(self, plan: BorrowerPlan, k: int, loan_id: int, action: Action) -> None:
        loan = Loan.objects.get(pk=loan_id)
        if loan.status != Loan.Status.ACTIVE:
            return
        kind, amount = payment_for(loan, action)
        if amount <= ZERO:
            return
        if action.kind == "fail":
            services.autodebit_failure_record(loan=loan, attempted_on=action.day, amount=amount, cause=action.cause)
            return
        key = f"demo:{self.seed}:{plan.index}:{k}:{action.day.isoformat()}:{action.kind}"
        try:
            services.payment_post(
                loan=loan,
                amount=amount,
                value_date=action.day,
                kind=kind,
                channel=action.channel,
                idempotency_key=key,
                reference=f"demo {action.kind}",
            )
        except DomainError as refused:
            self.report.payments_refused[refused.code] += 1


def simulated_noon() -> datetime:
    """Noon, lender time, of the pinned business day: when the demo's admin acts on a simulated day."""
    return datetime.combine(business_today(), time(12), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def payment_for(loan: Loan, action: Action) -> tuple[str, Decimal]:
    """The kind and amount of an action, from the loan's state on its day."""
    ledger = selectors.loan_ledger(loan)
    on = action.day
    due = ledger.amount_due(on)
    if action.kind == "payoff":
        return Payment.Kind.PAYOFF, selectors.payoff_quote(loan, on)["total"]
    if action.kind == "prepay":
        current = ledger.current_period(on)
        if current is None:
            return Payment.Kind.PREPAYMENT, ZERO
        remaining = sum((i.unpaid_principal for i in [current, *ledger.later_than(current)]), ZERO)
        extra = quantize_money(remaining * action.share)
        return Payment.Kind.PREPAYMENT, due + extra if ZERO < extra < remaining else ZERO
    if action.kind == "partial":
        return Payment.Kind.REGULAR, quantize_money(due * action.share)
    if action.kind == "pay_early":
        nxt = next((i for i in ledger.installments if i.due_date > on and i.unpaid_pi), None)
        return Payment.Kind.REGULAR, due + (nxt.unpaid_pi if nxt else ZERO)
    return Payment.Kind.REGULAR, due


# -- a day of collections work ----------------------------------------------------


# What a collector's calls came to, weighted as an early-stage desk sees them.
CALL_OUTCOMES = (
    ("no_answer", 5),
    ("busy", 1),
    ("right_party", 2),
    ("promise_to_pay", 2),
    ("refusal", 1),
    ("hardship_request", 1),
)


class DemoCollections:
    """The collections desk on each of the last simulated days: reminders, calls, promises.

    Each morning the day's reminders go out through the dispatcher (09:30 lender time);
    then both collectors take their next cases and call. Every call goes through the
    compliance gate like a real one: now and then a collector tries once more at 22:15
    borrower-local, and the gate blocks and records it with its rule. Promises follow the
    calls that ended in one, due a few days later, so the nights mark them kept or broken.
    On a few days a borrower complains, and some of them ask the lender to stop calling.
    Reminders planned before the first worked day are history (no dispatcher ran then).
    """

    CASES_PER_COLLECTOR = 3
    LATE_CALL_CHANCE = 0.3
    COMPLAINT_CHANCE = 0.12
    CEASE_CHANCE = 0.4
    DISPATCH_AT = time(9, 30)

    def __init__(self, *, seed: int, first_day: date) -> None:
        self.rng = random.Random(f"{seed}:collections")
        self.first_day = first_day

    def work_day(self, day: date) -> None:
        """One day's desk, with the business date pinned to that day (promises are made on it)."""
        with business_date_pinned(day):
            if day == self.first_day:
                self._history(before=day)
            lender = zoneinfo.ZoneInfo(settings.TIME_ZONE)
            reminders.reminders_dispatch(now=datetime.combine(day, self.DISPATCH_AT, tzinfo=lender), limit=5000)
            worked: list[tuple[Case, User]] = []
            for username in ("collector1", "collector2"):
                collector = User.objects.get(username=username)
                for k in range(self.CASES_PER_COLLECTOR):
                    try:
                        case = cases.case_next(collector=collector)
                    except DomainError:
                        break  # at the workload cap
                    if case is None:
                        break
                    self._work(case, collector, day, late_call=k == 0 and self.rng.random() < self.LATE_CALL_CHANCE)
                    worked.append((case, collector))
            if worked and self.rng.random() < self.COMPLAINT_CHANCE:
                self._complaint(day, *self.rng.choice(worked))

    def today(self) -> None:
        """After the last close: anything older than today is history; today's reminders go out now."""
        self._history(before=business_today())
        reminders.reminders_dispatch(now=timezone.now(), limit=5000)

    @staticmethod
    def _history(*, before: date) -> None:
        Reminder.objects.filter(planned_for__lt=before, status=Reminder.Status.PLANNED).update(
            status=Reminder.Status.SKIPPED, detail="demo history: no dispatcher ran"
        )

    def _work(self, case: Case, collector: User, day: date, *, late_call: bool) -> None:
        borrower = case.borrower
        zone = zoneinfo.ZoneInfo(borrower.timezone)
        phone = borrower.contact_points.filter(kind="phone").first()
        if phone is None:
            return
        outcomes, weights = zip(*CALL_OUTCOMES, strict=True)
        for hour, minute in ((10, 5), (15, 40)):
            at = datetime.combine(day, time(hour, minute + self.rng.randrange(15)), tzinfo=zone)
            outcome = self.rng.choices(outcomes, weights)[0]
            try:
                attempt = contact.contact_attempt_log(
                    case=case,
                    channel="call",
                    at=at,
                    outcome=outcome,
                    actor=collector,
                    source="collector",
                    contact_point=phone,
                    note="demo call",
                )
            except DomainError:
                return  # blocked by the gate (recorded) or refused: a collector moves on
            if outcome == "promise_to_pay":
                amount = min(case.overdue_amount, quantize_money(case.overdue_amount * Decimal("0.6") + 50))
                due_on = day + timedelta(days=self.rng.randint(2, 6))
                with contextlib.suppress(DomainError):
                    promises.promise_create(case=case, amount=amount, due_on=due_on, actor=collector, attempt=attempt)
                return
        if late_call:
            with contextlib.suppress(DomainError):
                contact.contact_attempt_log(
                    case=case,
                    channel="call",
                    at=datetime.combine(day, time(22, 15), tzinfo=zone),
                    outcome="no_answer",
                    actor=collector,
                    source="collector",
                    contact_point=phone,
                    note="demo: a call after hours",
                )

    def _complaint(self, day: date, case: Case, collector: User) -> None:
        """A borrower complains about the calls; some ask the lender to stop calling them."""
        at = datetime.combine(day, time(16, 30), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))
        category = self.rng.choice(
            (Complaint.Category.HARASSMENT, Complaint.Category.WRONG_AMOUNT, Complaint.Category.QUIET_HOURS)
        )
        with contextlib.suppress(DomainError):
            complaints.complaint_record(
                borrower=case.borrower,
                case=case,
                channel=Channel.CALL,
                category=category,
                received_at=at,
                description="demo: the borrower complains about how they were collected",
                actor=collector,
            )
        if self.rng.random() < self.CEASE_CHANCE:
            with contextlib.suppress(DomainError):
                restriction = contact.contact_restriction_add(
                    borrower=case.borrower,
                    kind=ContactRestriction.Kind.CEASE,
                    actor=collector,
                    starts_at=at + timedelta(minutes=5),
                    reason="demo: the borrower asked the lender to stop calling",
                )
                # Recorded on the simulated day, not when the demo happened to run (as trained_at).
                ContactRestriction.objects.filter(pk=restriction.pk).update(created_at=restriction.starts_at)


# -- the summary -------------------------------------------------------------------


def book_summary() -> dict[str, object]:
    """Borrowers, loans, payments by kind, open loans by bucket, frozen lines."""
    by_bucket = dict(
        Loan.objects.filter(status=Loan.Status.ACTIVE).values_list("bucket").annotate(n=Count("id")).order_by("bucket")
    )
    return {
        "borrowers": Borrower.objects.count(),
        "loans": Loan.objects.count(),
        "loans by status": dict(Loan.objects.values_list("status").annotate(n=Count("id")).order_by("status")),
        "payments": Payment.objects.count(),
        "payments by kind": dict(Payment.objects.values_list("kind").annotate(n=Count("id")).order_by("kind")),
        "autodebit failures": dict(
            AutodebitFailure.objects.values_list("cause").annotate(n=Count("id")).order_by("cause")
        ),
        "open loans by bucket": by_bucket,
        "frozen lines": CreditLine.objects.filter(status=CreditLine.Status.FROZEN).count(),
        "closed days": ClosedDay.objects.count(),
        "open cases by stage": dict(
            Case.objects.filter(status=Case.Status.OPEN).values_list("stage").annotate(n=Count("id")).order_by("stage")
        ),
        "contact attempts": {
            "allowed": ContactAttempt.objects.filter(allowed=True).count(),
            "blocked by the gate": ContactAttempt.objects.filter(allowed=False).count(),
        },
        "reminders": dict(Reminder.objects.values_list("status").annotate(n=Count("id")).order_by("status")),
        "scorecards": dict(ModelVersion.objects.values_list("status").annotate(n=Count("id")).order_by("status")),
        "open loans by band": dict(
            Loan.objects.filter(status=Loan.Status.ACTIVE)
            .exclude(risk_band="")
            .values_list("risk_band")
            .annotate(n=Count("id"))
            .order_by("risk_band")
        ),
        "monitored nights": ModelMonitor.objects.values("business_date").distinct().count(),
        "matured months": ModelPerformance.objects.count(),
        "band changes": BandChange.objects.count(),
        "limit cuts": LimitReduction.objects.count(),
    }
