"""Handing out cases: next case by priority, own due promises first, caps, supervisors' assignments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import count

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from riskdesk.collections import cases
from riskdesk.collections.models import Agency, Case, CollectorProfile, ContactAttempt, Promise, Queue, Stage
from riskdesk.core import roles
from riskdesk.core.errors import DomainError, NotFound
from riskdesk.core.models import AuditLog
from riskdesk.lending.models import Borrower
from tests.conftest import TODAY, run_concurrently

D = Decimal
_ids = count(1)


def make_case(
    priority: str = "100.00", stage: Stage = Stage.MID, language: str = "zh-hans", assigned_to: User | None = None
) -> Case:
    n = next(_ids)
    borrower = Borrower.objects.create(name=f"借款人{n}", national_id=f"ID{n:012d}", language=language)
    return Case.objects.create(
        borrower=borrower,
        stage=stage,
        worst_bucket="M2",
        max_dpd=45,
        overdue_amount=D("1000.00"),
        priority=D(priority),
        queue=Queue.objects.get(code=stage),
        assigned_to=assigned_to,
        opened_on=date(2026, 11, 1),
        updated_on=date(2026, 11, 1),
    )


def make_collector(name: str, role: str = roles.COLLECTOR) -> User:
    user = User.objects.create_user(username=name)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def collector(db: None) -> User:
    return make_collector("wang")


# -- case_next -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_next_hands_out_the_highest_priority_unassigned_case(collector: User) -> None:
    make_case("100.00")
    top = make_case("900.00")
    make_case("500.00")
    assert cases.case_next(collector=collector) == top


@pytest.mark.django_db
def test_next_assigns_the_case_and_audits_it(collector: User) -> None:
    case = make_case()
    cases.case_next(collector=collector)
    case.refresh_from_db()
    assert case.assigned_to == collector
    assert case.assigned_at is not None
    row = AuditLog.objects.get(action="case.assign", entity_id=str(case.pk))
    assert (row.actor, row.before, row.after) == (collector, {"assigned_to": None}, {"assigned_to": collector.pk})


@pytest.mark.django_db
def test_next_skips_cases_already_assigned(collector: User) -> None:
    make_case("900.00", assigned_to=make_collector("li"))
    free = make_case("100.00")
    assert cases.case_next(collector=collector) == free


@pytest.mark.django_db
def test_next_is_none_when_nothing_is_left(collector: User) -> None:
    assert cases.case_next(collector=collector) is None


@pytest.mark.django_db
def test_a_collector_draws_no_late_or_write_off_review_case(collector: User) -> None:
    make_case("900.00", stage=Stage.LATE)
    make_case("900.00", stage=Stage.WRITE_OFF_REVIEW)
    assert cases.case_next(collector=collector) is None


@pytest.mark.django_db
def test_a_supervisor_draws_late_cases_too() -> None:
    late = make_case("900.00", stage=Stage.LATE)
    make_case("100.00", stage=Stage.MID)
    assert cases.case_next(collector=make_collector("zhao", roles.SUPERVISOR)) == late


@pytest.mark.django_db
def test_next_matches_the_collectors_languages(collector: User) -> None:
    CollectorProfile.objects.create(user=collector, languages="en")
    make_case("900.00", language="zh-hans")
    english = make_case("100.00", language="en")
    assert cases.case_next(collector=collector) == english


@pytest.mark.django_db
def test_a_case_placed_with_an_agency_is_not_handed_out(collector: User) -> None:
    case = make_case("900.00", stage=Stage.MID)
    case.agency = Agency.objects.create(name="Acme", reviewed_on=date(2026, 6, 1))
    case.save()
    assert cases.case_next(collector=collector) is None


@pytest.mark.django_db
def test_own_case_with_a_promise_due_comes_before_a_higher_priority_new_case(collector: User) -> None:
    own = make_case("10.00", assigned_to=collector)
    Promise.objects.create(case=own, amount=D("100.00"), made_on=date(2026, 11, 20), due_on=TODAY)
    make_case("900.00")
    assert cases.case_next(collector=collector) == own


@pytest.mark.django_db
def test_own_case_with_a_promise_due_later_does_not_come_first(collector: User) -> None:
    own = make_case("10.00", assigned_to=collector)
    Promise.objects.create(case=own, amount=D("100.00"), made_on=date(2026, 11, 20), due_on=date(2026, 11, 24))
    new = make_case("900.00")
    assert cases.case_next(collector=collector) == new


@pytest.mark.django_db
def test_own_promise_case_worked_today_is_not_handed_out_again(collector: User) -> None:
    own = make_case("10.00", assigned_to=collector)
    Promise.objects.create(case=own, amount=D("100.00"), made_on=date(2026, 11, 20), due_on=TODAY)
    ContactAttempt.objects.create(
        case=own,
        borrower=own.borrower,
        channel="call",
        source="collector",
        at=timezone.make_aware(datetime(2026, 11, 23, 10, 0)),
        allowed=True,
        outcome="no_answer",
        actor=collector,
    )
    new = make_case("900.00")
    assert cases.case_next(collector=collector) == new


@pytest.mark.django_db
def test_next_refuses_a_collector_at_the_cap(collector: User) -> None:
    CollectorProfile.objects.create(user=collector, max_open_cases=2)
    make_case(assigned_to=collector)
    make_case(assigned_to=collector)
    make_case()
    with pytest.raises(DomainError) as refused:
        cases.case_next(collector=collector)
    assert (refused.value.code, refused.value.extra) == ("workload_cap_reached", {"held": 2, "cap": 2})


@pytest.mark.django_db
def test_closed_cases_do_not_count_against_the_cap(collector: User) -> None:
    CollectorProfile.objects.create(user=collector, max_open_cases=1)
    Case.objects.filter(pk=make_case(assigned_to=collector).pk).update(status=Case.Status.CLOSED)
    free = make_case()
    assert cases.case_next(collector=collector) == free


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_collectors_asking_at_once_never_get_the_same_case() -> None:
    collectors = [make_collector(f"c{k}") for k in range(8)]
    for k in range(12):
        make_case(f"{100 + k}.00")
    handed: list[tuple[int, int]] = []

    def ask(k: int) -> None:
        for _ in range(2):
            case = cases.case_next(collector=collectors[k])
            if case is not None:
                handed.append((k, case.pk))

    assert run_concurrently(ask, 8) == []
    case_ids = [case_id for _, case_id in handed]
    assert len(case_ids) == 12
    assert len(set(case_ids)) == 12
    for k, case_id in handed:
        assert Case.objects.get(pk=case_id).assigned_to_id == collectors[k].pk


# -- supervisors: assign, reassign, caps --------------------------------------------------


@pytest.mark.django_db
def test_assign_gives_the_case_to_the_collector(collector: User, users: dict[str, User]) -> None:
    case = make_case()
    cases.case_assign(case=case, collector=collector, actor=users[roles.SUPERVISOR])
    case.refresh_from_db()
    assert case.assigned_to == collector
    assert AuditLog.objects.get(action="case.assign").actor == users[roles.SUPERVISOR]


@pytest.mark.django_db
def test_assign_refuses_a_collector_at_the_cap(collector: User, users: dict[str, User]) -> None:
    cases.collector_cap_set(collector=collector, max_open_cases=1, actor=users[roles.SUPERVISOR])
    make_case(assigned_to=collector)
    with pytest.raises(DomainError, match="cap is 1") as refused:
        cases.case_assign(case=make_case(), collector=collector, actor=users[roles.SUPERVISOR])
    assert refused.value.code == "workload_cap_reached"


@pytest.mark.django_db
def test_assign_refuses_someone_who_does_not_work_cases(users: dict[str, User]) -> None:
    with pytest.raises(DomainError) as refused:
        cases.case_assign(case=make_case(), collector=users[roles.RISK_OFFICER], actor=users[roles.SUPERVISOR])
    assert refused.value.code == "not_a_collector"


@pytest.mark.django_db
def test_assign_refuses_a_closed_case(collector: User, users: dict[str, User]) -> None:
    case = make_case()
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    with pytest.raises(DomainError) as refused:
        cases.case_assign(case=case, collector=collector, actor=users[roles.SUPERVISOR])
    assert refused.value.code == "case_closed"


@pytest.mark.django_db
def test_only_a_supervisor_or_admin_reassigns_whatever_the_path(collector: User, users: dict[str, User]) -> None:
    case = make_case(assigned_to=make_collector("li"))

    with pytest.raises(DomainError) as refused:
        cases.cases_reassign(case_ids=[case.pk], collector=collector, actor=collector)

    assert (refused.value.code, refused.value.status) == ("not_permitted", 403)
    assert refused.value.message == "Your role may not reassign cases."
    case.refresh_from_db()
    assert case.assigned_to.username == "li"


@pytest.mark.django_db
def test_reassign_moves_every_case_and_counts_them(collector: User, users: dict[str, User]) -> None:
    other = make_collector("li")
    ids = [make_case(assigned_to=other).pk for _ in range(3)] + [make_case(assigned_to=collector).pk]
    moved = cases.cases_reassign(case_ids=ids, collector=collector, actor=users[roles.SUPERVISOR])
    assert moved == 3
    assert set(Case.objects.filter(pk__in=ids).values_list("assigned_to", flat=True)) == {collector.pk}
    assert AuditLog.objects.filter(action="case.assign", reason="bulk reassignment").count() == 3


@pytest.mark.django_db
def test_reassign_is_all_or_nothing(collector: User, users: dict[str, User]) -> None:
    other = make_collector("li")
    open_case = make_case(assigned_to=other)
    closed = make_case(assigned_to=other)
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED)
    with pytest.raises(DomainError) as refused:
        cases.cases_reassign(case_ids=[open_case.pk, closed.pk], collector=collector, actor=users[roles.SUPERVISOR])
    assert (refused.value.code, refused.value.extra) == ("case_closed", {"closed": [closed.pk]})
    open_case.refresh_from_db()
    assert open_case.assigned_to == other


@pytest.mark.django_db
def test_reassign_refuses_an_unknown_case(collector: User, users: dict[str, User]) -> None:
    with pytest.raises(NotFound) as refused:
        cases.cases_reassign(case_ids=[make_case().pk, 999999], collector=collector, actor=users[roles.SUPERVISOR])
    assert refused.value.extra == {"missing": [999999]}


@pytest.mark.django_db
def test_reassign_refuses_to_push_a_collector_over_the_cap(collector: User, users: dict[str, User]) -> None:
    CollectorProfile.objects.create(user=collector, max_open_cases=2)
    ids = [make_case().pk for _ in range(3)]
    with pytest.raises(DomainError) as refused:
        cases.cases_reassign(case_ids=ids, collector=collector, actor=users[roles.SUPERVISOR])
    assert refused.value.code == "workload_cap_reached"
    assert not Case.objects.filter(assigned_to=collector).exists()


@pytest.mark.django_db
def test_reassign_to_nobody_returns_cases_to_their_queue(collector: User, users: dict[str, User]) -> None:
    case = make_case(assigned_to=collector)
    assert cases.cases_reassign(case_ids=[case.pk], collector=None, actor=users[roles.SUPERVISOR]) == 1
    case.refresh_from_db()
    assert (case.assigned_to, case.assigned_at) == (None, None)


@pytest.mark.django_db
def test_cap_set_records_the_change(collector: User, users: dict[str, User]) -> None:
    profile = cases.collector_cap_set(collector=collector, max_open_cases=50, actor=users[roles.SUPERVISOR])
    assert profile.max_open_cases == 50
    row = AuditLog.objects.get(action="collector.cap_set")
    assert (row.before, row.after) == ({"max_open_cases": 200}, {"max_open_cases": 50})


@pytest.mark.django_db
def test_cap_set_refuses_a_negative_cap(collector: User, users: dict[str, User]) -> None:
    with pytest.raises(DomainError) as refused:
        cases.collector_cap_set(collector=collector, max_open_cases=-1, actor=users[roles.SUPERVISOR])
    assert refused.value.code == "invalid_cap"
