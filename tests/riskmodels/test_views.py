"""The model pages per role, the figures they show, the admin's decisions, and a loan's risk on its pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from riskdesk.collections.models import Case
from riskdesk.core.models import JobRun
from riskdesk.lending import services as lending_services
from riskdesk.lending.models import CreditLine, Loan
from riskdesk.riskmodels import loan_risk, services
from riskdesk.riskmodels.features import HORIZON_DAYS
from riskdesk.riskmodels.models import (
    BandChange,
    LimitPolicy,
    LimitReduction,
    LoanScore,
    ModelMonitor,
    ModelPerformance,
    ModelStatusChange,
    ModelVersion,
    ScoreDistribution,
)
from tests.collections.test_api_permissions import open_case
from tests.conftest import client_for
from tests.riskmodels.test_services import version_made

NIGHT = date(2026, 11, 22)


def monitored(version: ModelVersion, psi: float, alert: str, day: date = NIGHT) -> ModelMonitor:
    return ModelMonitor.objects.create(
        model_version=version,
        business_date=day,
        loans=1200,
        psi=psi,
        alert=alert,
        feature_psi={"dpd": 0.31, "days_since_payment": 0.04, "segment": 0.12, "product": 0.0},
        band_mix={"A": 700, "B": 300, "C": 120, "D": 60, "E": 20},
    )


@pytest.fixture
def champion_and_challenger(db: None) -> tuple[ModelVersion, ModelVersion]:
    champion = version_made(1, ModelVersion.Status.CHAMPION)
    challenger = version_made(2)
    monitored(champion, 0.27, "act")
    monitored(champion, 0.08, "ok", day=date(2026, 11, 21))
    monitored(challenger, 0.11, "watch")
    for k, loans in enumerate([100, 200, 400, 300, 200]):
        ScoreDistribution.objects.create(model_version=champion, business_date=NIGHT, feature="", bin=k, loans=loans)
    for k, loans in enumerate([600, 300, 300, 0]):
        ScoreDistribution.objects.create(model_version=champion, business_date=NIGHT, feature="dpd", bin=k, loans=loans)
    ModelPerformance.objects.create(
        model_version=champion,
        observation_month=date(2026, 8, 31),
        loans=1000,
        bads=80,
        auc=0.774,
        ks=0.421,
        gini=0.548,
        calibration=[{"band": "A", "loans": 800, "predicted": 0.01, "observed": 0.02}],
        computed_on=date(2026, 10, 30),
    )
    return champion, challenger


# -- access ------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "expected"), [("admin", 200), ("risk_officer", 200)])
def test_risk_officers_and_admins_read_the_model_pages(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion], role: str, expected: int
) -> None:
    champion, _ = champion_and_challenger
    client = client_for(users[role])

    assert client.get("/models/").status_code == expected
    assert client.get(f"/models/{champion.pk}/").status_code == expected


@pytest.mark.parametrize("role", ["collector", "collections_supervisor"])
def test_collections_staff_get_403_on_the_model_pages(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion], role: str
) -> None:
    champion, _ = champion_and_challenger
    client = client_for(users[role])

    assert client.get("/models/").status_code == 403
    assert client.get(f"/models/{champion.pk}/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(db: None) -> None:
    response = Client().get("/models/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_an_unknown_version_is_404(users: dict[str, User]) -> None:
    assert client_for(users["risk_officer"]).get("/models/999/").status_code == 404


# -- the registry -------------------------------------------------------------------------


def test_the_registry_shows_each_version_with_its_oot_figures_and_latest_psi(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    html = client_for(users["risk_officer"]).get("/models/").content.decode()

    assert "v1" in html and "v2" in html
    assert "0.790" in html and "0.450" in html and "0.580" in html  # OOT AUC, KS, Gini
    assert "0.270" in html and "act" in html  # champion's latest PSI
    assert "0.110" in html and "watch" in html  # challenger's
    assert "2026-01-31 – 2026-04-30" in html  # training window


def test_the_side_by_side_table_says_how_often_the_bands_agree(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    _, challenger = champion_and_challenger
    ModelMonitor.objects.filter(model_version=challenger).update(agreement=0.5, agreement_within_one=0.75)

    with CaptureQueriesContext(connection) as queries:
        html = client_for(users["risk_officer"]).get("/models/").content.decode()

    assert "50.0%" in html  # the challenger's latest monitor: half the loans in the champion's band
    assert "75.0%" in html  # three in four at most one band apart
    assert "of 1200 loans on 2026-11-22" in html
    # the page reads the monitor the scoring step filled, never the scores
    assert not [q for q in queries.captured_queries if "riskmodels_loanscore" in q["sql"]]


def test_a_challenger_not_yet_scored_beside_the_champion_shows_no_agreement(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    html = client_for(users["risk_officer"]).get("/models/").content.decode()

    assert "no common day yet" in html


def test_the_registry_warns_when_there_is_no_champion(users: dict[str, User]) -> None:
    version_made(1)

    html = client_for(users["risk_officer"]).get("/models/").content.decode()

    assert "No champion: close of day scores nothing" in html


# -- the model page -----------------------------------------------------------------------


def test_the_model_page_shows_a_visible_psi_alert(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    champion, challenger = champion_and_challenger
    client = client_for(users["risk_officer"])

    champion_page = client.get(f"/models/{champion.pk}/").content.decode()
    challenger_page = client.get(f"/models/{challenger.pk}/").content.decode()

    assert 'class="psi-alert act"' in champion_page
    assert "Act: the score's PSI against training was 0.270 on 2026-11-22" in champion_page
    assert 'class="psi-alert watch"' in challenger_page
    assert "PSI against training was 0.110 on 2026-11-22 (0.10 or more)" in challenger_page


def test_the_model_page_shows_settings_validation_iv_and_points(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    champion, _ = champion_and_challenger
    html = client_for(users["risk_officer"]).get(f"/models/{champion.pk}/").content.decode()

    assert "600.00" in html and "50 : 1" in html and "20.00" in html  # base score, odds, pdo
    assert "reaches 31+ days past due within 60 days" in html
    assert "rolls to a worse bucket within 30 days" in html
    # validation: training and out of time, every loan and per segment
    assert "0.810" in html and "0.620" in html  # train AUC, Gini
    assert "0.760" in html and "0.520" in html  # to_30 OOT AUC, Gini
    assert "6.6%" in html  # to_30 train bad rate
    # IV per feature, strongest first; term (0.010) was dropped
    assert html.index("1.200") < html.index("0.400") < html.index("0.010")
    # the points table: dpd's bins with their counts and points
    assert "[1.00, 15.00)" in html and "(-inf, 1.00)" in html
    spec_points = champion.spec["features"][1]["bins"][0]["points"]
    assert f"{spec_points:.1f}" in html


def test_a_version_without_recorded_horizons_states_the_features_ones(users: dict[str, User]) -> None:
    metrics = {k: v for k, v in version_made(1).metrics.items() if k != "horizon_days"}
    version = version_made(2, metrics=metrics)

    html = client_for(users["risk_officer"]).get(f"/models/{version.pk}/").content.decode()

    assert f"within {HORIZON_DAYS['to_30']} days" in html and f"within {HORIZON_DAYS['over_30']} days" in html


def test_the_risk_styles_live_in_the_desks_stylesheet_which_every_page_loads(
    users: dict[str, User], scored_loan: Loan
) -> None:
    open_case(scored_loan.borrower, scored_loan, assigned_to=users["collector"])  # a collector reads their cases' loans
    html = client_for(users["collector"]).get(f"/loans/{scored_loan.pk}/").content.decode()
    stylesheet = Path(finders.find("css/desk.css")).read_text()

    assert '<ol class="risk-reasons">' in html and 'href="/static/css/desk.css"' in html
    assert ".risk-reasons {" in stylesheet and ".psi-alert.act {" in stylesheet
    assert not [p for p in Path(settings.BASE_DIR, "templates", "riskmodels").iterdir() if "<style" in p.read_text()]


def test_the_model_page_draws_its_four_charts_with_plotly_from_the_package(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    import plotly

    champion, _ = champion_and_challenger
    html = client_for(users["risk_officer"]).get(f"/models/{champion.pk}/").content.decode()

    for chart in ("chart-score_distribution", "chart-psi", "chart-discrimination", "chart-calibration"):
        assert f'id="{chart}"' in html
    assert f'src="/assets/plotly-{plotly.__version__}.min.js"' in html
    assert "cdn" not in html.lower()


def test_the_model_page_lists_feature_stability_worst_first(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    champion, _ = champion_and_challenger
    html = client_for(users["risk_officer"]).get(f"/models/{champion.pk}/").content.decode()

    stability = html[html.index("Feature stability") :]
    assert stability.index("0.310") < stability.index("0.120") < stability.index("0.040")
    # dpd's bin that moved most: under 1 day from 70.0% in training to 50.0% (600 of 1,200)
    assert "(-inf, 1.00)" in stability and "70.0%" in stability and "50.0%" in stability


def test_the_model_page_says_no_live_month_has_matured_while_only_training_months_exist(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    champion, challenger = champion_and_challenger
    client = client_for(users["risk_officer"])

    waiting = client.get(f"/models/{challenger.pk}/").content.decode()
    matured = client.get(f"/models/{champion.pk}/").content.decode()

    # both draw training's months; only the champion has a live month end whose outcomes are in
    assert 'id="chart-discrimination"' in waiting and 'id="chart-discrimination"' in matured
    assert "No live month has matured yet: the chart shows the training months only." in waiting
    assert "No live month has matured yet" not in matured
    assert "live months once their outcome window has passed" in matured


def test_plotly_js_is_served_from_the_package_cacheable_for_a_year(db: None) -> None:
    import plotly

    response = Client().get(f"/assets/plotly-{plotly.__version__}.min.js", HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Client().get("/assets/plotly-0.0.1.min.js").status_code == 404


# -- decisions ----------------------------------------------------------------------------


def test_the_admin_sees_what_a_promotion_changes(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    _, challenger = champion_and_challenger
    html = client_for(users["admin"]).get(f"/models/{challenger.pk}/").content.decode()

    assert "v2 becomes champion; v1 becomes a challenger; tonight's close writes v2's bands onto loans." in html
    assert "Tonight's band changes from the switch are marked as a model switch and cut no credit limits." in html


def test_a_risk_officer_sees_no_decision_forms(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    _, challenger = champion_and_challenger
    html = client_for(users["risk_officer"]).get(f"/models/{challenger.pk}/").content.decode()

    assert "/promote/" not in html and "/retire/" not in html


def test_the_admin_promotes_from_the_page_and_the_history_shows_it(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    champion, challenger = champion_and_challenger
    client = client_for(users["admin"])

    response = client.post(
        f"/models/{challenger.pk}/promote/", {"promote-comment": "OOT KS 0.45 against 0.41"}, follow=True
    )

    assert response.status_code == 200
    assert ModelVersion.objects.get(pk=challenger.pk).status == "champion"
    assert ModelVersion.objects.get(pk=champion.pk).status == "challenger"
    html = unescape(response.content.decode())
    assert "Scorecard v2 is now the champion; tonight's close writes its bands onto loans." in html
    assert "OOT KS 0.45 against 0.41" in html


def test_a_promotion_without_a_comment_redraws_the_page_with_the_error(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    _, challenger = champion_and_challenger

    response = client_for(users["admin"]).post(f"/models/{challenger.pk}/promote/", {"promote-comment": " "})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Say why: a comment is required." in html
    # each decision has its own field, so the page has no duplicate ids
    assert html.count('id="id_promote-comment"') == html.count('id="id_retire-comment"') == 1
    assert ModelVersion.objects.get(pk=challenger.pk).status == "challenger"


def test_retiring_the_champion_from_the_page_says_to_promote_another_first(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    champion, _ = champion_and_challenger

    response = client_for(users["admin"]).post(f"/models/{champion.pk}/retire/", {"retire-comment": "old"}, follow=True)

    assert "The champion cannot be retired: promote another model first." in response.content.decode()
    assert ModelVersion.objects.get(pk=champion.pk).status == "champion"


def test_a_risk_officer_cannot_post_a_decision(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    _, challenger = champion_and_challenger

    response = client_for(users["risk_officer"]).post(f"/models/{challenger.pk}/promote/", {"promote-comment": "mine"})

    assert response.status_code == 403
    assert not ModelStatusChange.objects.exists()


# -- a loan's risk on the loan and case pages ---------------------------------------------


MONTH_END = date(2026, 10, 31)


@pytest.fixture
def scored_loan(make_loan: Callable[..., Loan], users: dict[str, User]) -> Loan:
    """A loan 45 days past due that the champion v1 put in band D on NIGHT.

    Its only kept score is the month end's, with other values (it was current then): the
    page must read the reasons' values as of NIGHT, not from that row.
    """
    champion = version_made(1)
    services.model_version_promote(model_version=champion, comment="first", actor=users["admin"])
    ModelStatusChange.objects.update(at=timezone.make_aware(datetime(2026, 10, 1, 9, 0)))
    for day in (MONTH_END, NIGHT):
        JobRun.objects.create(
            step="riskmodels.scoring",
            business_date=day,
            status="done",
            finished_at=timezone.make_aware(datetime.combine(day, datetime.min.time())),
        )
    loan = make_loan()
    Loan.objects.filter(pk=loan.pk).update(
        dpd=45,
        risk_band="D",
        risk_pd=Decimal("0.183400"),
        risk_score=Decimal("548.20"),
        risk_reasons="dpd,days_since_payment,segment",
    )
    LoanScore.objects.create(
        business_date=MONTH_END,
        loan=loan,
        model_version=champion,
        score=Decimal("611.00"),
        pd=Decimal("0.031000"),
        band="B",
        reasons=[
            {"feature": "days_since_payment", "value": None, "points_lost": 22.44},
            {"feature": "product", "value": "jiebei", "points_lost": 1.5},
        ],
    )
    return Loan.objects.get(pk=loan.pk)


def li_of(html: str, words: str) -> str:
    """The reason's list item on the loan page, from its words to the end of the item."""
    start = html.index(f'<span class="strong">{words}')
    return html[start : html.index("</li>", start)]


def test_the_loan_page_shows_band_pd_score_and_reasons_in_words(users: dict[str, User], scored_loan: Loan) -> None:
    open_case(scored_loan.borrower, scored_loan, assigned_to=users["collector"])  # a collector reads their cases' loans
    html = client_for(users["collector"]).get(f"/loans/{scored_loan.pk}/").content.decode()

    assert "band D" in html
    assert "Probability of rolling into serious delinquency: 18.34% (score 548.20, band D)." in html
    # dpd 45 falls in the tiny spec's [15, inf) bin: (0.8 - (-1.8)) x 0.9 x 20 / ln 2 = 67.5 points below the best
    assert li_of(html, "days past due now").startswith('<span class="strong">days past due now</span>: 45 ')
    assert "(costs 67.5 points against the best bin)" in li_of(html, "days past due now")
    assert li_of(html, "days since the last payment").startswith(
        '<span class="strong">days since the last payment</span>: none on record <span class="muted">(costs 16.2 points'
    )
    assert "Scored by scorecard v1 (champion) at the close of 2026-11-22." in html
    # a collector may not open the model page, so it is not linked for them
    assert "/models/" not in html


def test_the_loan_page_reads_reasons_as_of_tonight_not_the_kept_month_end(
    users: dict[str, User], scored_loan: Loan
) -> None:
    # paid on 2026-11-10: the month end's row (2026-10-31) had no payment on record
    lending_services.payment_post(
        loan=scored_loan,
        amount=Decimal("100.00"),
        value_date=date(2026, 11, 10),
        kind="regular",
        channel="app",
        idempotency_key="paid-after-month-end",
    )

    open_case(scored_loan.borrower, scored_loan, assigned_to=users["collector"])  # a collector reads their cases' loans
    html = client_for(users["collector"]).get(f"/loans/{scored_loan.pk}/").content.decode()

    # 12 days is in the best bin: it costs no points now
    assert li_of(html, "days since the last payment") == '<span class="strong">days since the last payment</span>: 12'
    assert "none on record" not in html


def test_the_loan_page_says_when_a_loan_is_not_scored(users: dict[str, User], make_loan: Callable[..., Loan]) -> None:
    loan = make_loan()

    html = client_for(users["risk_officer"]).get(f"/loans/{loan.pk}/").content.decode()

    assert "Not scored yet: no champion scorecard has scored this loan." in html


def limit_cut_made(loan: Loan, line: CreditLine, policy: LimitPolicy, *, on: date, limit: str) -> LimitReduction:
    """A champion downgrade on `on` and the cut it made, linked to its credit line event."""
    before = CreditLine.objects.get(pk=line.pk).limit
    change = BandChange.objects.create(
        on=on, loan=loan, model_version=ModelVersion.objects.get(version=1), from_band="B", to_band="D"
    )
    lending_services.credit_line_change_limit(credit_line=line, limit=Decimal(limit), reason="risk_band_downgrade")
    return LimitReduction.objects.create(
        band_change=change,
        credit_line=line,
        policy=policy,
        event=line.events.order_by("-id").first(),
        limit_before=before,
        limit_after=Decimal(limit),
    )


@pytest.fixture
def cut_policy(db: None) -> LimitPolicy:
    return LimitPolicy.objects.create(
        effective_from=date(2026, 10, 1), reduce_on_bands="DE", reduce_by=Decimal("0.3"), minimum_limit=1000
    )


def test_the_loan_page_explains_a_limit_cut_by_the_band_downgrade(
    users: dict[str, User], scored_loan: Loan, credit_line: CreditLine, cut_policy: LimitPolicy
) -> None:
    limit_cut_made(scored_loan, credit_line, cut_policy, on=NIGHT, limit="70000.00")

    html = client_for(users["risk_officer"]).get(f"/loans/{scored_loan.pk}/").content.decode()

    assert (
        f"Limit cut from 100,000.00 to 70,000.00 on 2026-11-23: loan #{scored_loan.pk}'s risk band fell "
        "from B to D; the limit policy of 2026-10-01 cuts 30 % on bands D–E (never below 1,000.00)."
    ) in html


def test_a_lines_limit_cuts_are_read_in_one_query_by_their_event(
    scored_loan: Loan, credit_line: CreditLine, cut_policy: LimitPolicy, django_assert_num_queries: Callable
) -> None:
    cuts = [
        limit_cut_made(scored_loan, credit_line, cut_policy, on=date(2026, 11, day), limit=limit)
        for day, limit in ((20, "70000.00"), (21, "49000.00"), (22, "34300.00"))
    ]
    # the same amounts cut again by hand: an event with no reduction behind it explains nothing
    lending_services.credit_line_change_limit(
        credit_line=credit_line, limit=Decimal("34300.00"), reason="risk_band_downgrade"
    )
    events = list(credit_line.events.order_by("id"))

    with django_assert_num_queries(1):
        found = loan_risk.limit_cuts(events)

    assert {event_id: cut.reduction.pk for event_id, cut in found.items()} == {c.event_id: c.pk for c in cuts}
    assert [found[c.event_id].band_change.on for c in cuts] == [date(2026, 11, 20), date(2026, 11, 21), NIGHT]


def test_the_case_page_shows_each_loans_band_and_reasons(users: dict[str, User], scored_loan: Loan) -> None:
    Loan.objects.filter(pk=scored_loan.pk).update(dpd=45, bucket="M2", overdue_amount=Decimal("1100.00"))
    case = Case.objects.create(
        borrower=scored_loan.borrower,
        opened_on=date(2026, 10, 20),
        updated_on=NIGHT,
        stage="mid",
        worst_bucket="M2",
        max_dpd=45,
    )
    case.loans.add(scored_loan)

    html = client_for(users["risk_officer"]).get(f"/collections/cases/{case.pk}/").content.decode()

    assert "Band D (PD 18.34%):" in html
    assert "days past due now; days since the last payment; delinquency segment" in html


def test_a_closed_loan_keeps_its_last_score_and_says_so(users: dict[str, User], scored_loan: Loan) -> None:
    Loan.objects.filter(pk=scored_loan.pk).update(status=Loan.Status.PAID_OFF, paid_off_on=NIGHT)

    html = client_for(users["risk_officer"]).get(f"/loans/{scored_loan.pk}/").content.decode()

    assert "The loan is closed: its last score, by scorecard v1 (champion) on 2026-10-31, stands." in html
    assert "at the close of" not in html
    # the kept row names days_since_payment (no payment then) but not dpd or segment: those show no value
    assert li_of(html, "days since the last payment").startswith(
        '<span class="strong">days since the last payment</span>: none on record'
    )
    assert "(costs 22.4 points against the best bin)" in li_of(html, "days since the last payment")
    assert li_of(html, "days past due now").endswith("days past due now</span>")
    assert li_of(html, "delinquency segment").endswith("or over)</span>")


def test_score_bins_are_labelled_by_their_points() -> None:
    from riskdesk.riskmodels.selectors import score_bin_labels

    assert score_bin_labels({"score_bins": [560.0, 580.0, 600.0]}) == ["< 560", "560–580", "580–600", "≥ 600"]
    assert score_bin_labels({"score_bins": [578.21, 578.44]}) == ["< 578.2", "578.2–578.4", "≥ 578.4"]


def test_the_admin_site_adds_a_limit_policy_through_its_service(users: dict[str, User]) -> None:
    client = client_for(users["admin"])

    response = client.post(
        "/admin/riskmodels/limitpolicy/add/",
        {
            "effective_from": "2026-12-01",
            "enabled": "on",
            "reduce_on_bands": "ED",
            "reduce_by": "0.250",
            "minimum_limit": "500.00",
            "note": "cut a quarter on D-E",
        },
    )

    assert response.status_code == 302
    policy = LimitPolicy.objects.get()
    assert (policy.reduce_on_bands, policy.created_by) == ("DE", users["admin"])
    refused = client.post(
        "/admin/riskmodels/limitpolicy/add/",
        {"effective_from": "2026-12-02", "reduce_on_bands": "DX", "reduce_by": "0.250", "minimum_limit": "500.00"},
    )
    assert refused.status_code == 200
    assert "Name one or more of the bands A to E" in refused.content.decode()


def test_the_admin_site_shows_a_version_with_its_status_history(
    users: dict[str, User], champion_and_challenger: tuple[ModelVersion, ModelVersion]
) -> None:
    champion, _ = champion_and_challenger

    response = client_for(users["admin"]).get(f"/admin/riskmodels/modelversion/{champion.pk}/change/")

    assert response.status_code == 200


def test_the_admins_list_of_limit_cuts_reads_each_cuts_rows_in_one_join(
    users: dict[str, User], scored_loan: Loan, credit_line: CreditLine, cut_policy: LimitPolicy
) -> None:
    client = client_for(users["admin"])
    limit_cut_made(scored_loan, credit_line, cut_policy, on=date(2026, 11, 20), limit="70000.00")

    def changelist_queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/admin/riskmodels/limitreduction/")
        assert response.status_code == 200
        return len(queries), response.content.decode()

    one, _ = changelist_queries()
    limit_cut_made(scored_loan, credit_line, cut_policy, on=date(2026, 11, 21), limit="49000.00")
    limit_cut_made(scored_loan, credit_line, cut_policy, on=NIGHT, limit="34300.00")
    three, html = changelist_queries()

    assert three == one
    assert f"loan #{scored_loan.pk}" in html and "B → D on 2026-11-22" in html
