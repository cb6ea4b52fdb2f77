"""Who may use each route of the URL conf, by method: the table test_permission_matrix.py checks.

One entry per (route, method). A route is named by its URL name ("api-case", "admin:index"),
or by its pattern when it has none ("api/v1/^"). The value is the set of principals that
pass the route's permission check; every other principal is refused:

- web pages: anonymous -> 302 to /login/, a signed-in role without the right -> 403;
- the API: anonymous -> 401, a role without the right -> 403 in the error shape;
- the admin: anonymous and every role but admin -> 302 to the admin's login; the admin
  role refused by a model admin's own permissions -> 403.

"Allowed" means the permission check lets the request through: the answer is anything
but 401/403 or a redirect to a login page (an empty POST is a 400, an unseen case a 404).
Object-level rules (which case, which loan; a collector reads the loans of their own cases
only) are test_object_access.py's.
"""

from __future__ import annotations

from riskdesk.core import roles

ANONYMOUS = "anonymous"
COLLECTOR = roles.COLLECTOR
AGENCY = roles.AGENCY
SUPERVISOR = roles.SUPERVISOR
RISK_OFFICER = roles.RISK_OFFICER
ADMIN = roles.ADMIN
PRINCIPALS = (ANONYMOUS, COLLECTOR, AGENCY, SUPERVISOR, RISK_OFFICER, ADMIN)

PUBLIC = frozenset(PRINCIPALS)
NOBODY: frozenset[str] = frozenset()
STAFF = frozenset(roles.ALL_ROLES)  # the desk's own roles; not the agency's users
SIGNED_IN = frozenset(PRINCIPALS) - {ANONYMOUS}
CASE_READERS = STAFF | {AGENCY}
CASE_WORKERS = frozenset({ADMIN, SUPERVISOR, COLLECTOR})
DECIDERS = frozenset({ADMIN, SUPERVISOR})
PII = frozenset(roles.PII_ROLES)
ADMIN_ONLY = frozenset({ADMIN})
BOOK_READERS = frozenset({ADMIN, RISK_OFFICER})

API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Django's function views treat any other method as GET; the web and the admin are tested
# with the two methods a browser sends.
WEB_METHODS = ("GET", "POST")

Rules = dict[tuple[str, str], frozenset[str]]

API_RULES: Rules = {
    ("api-token", "POST"): PUBLIC,
    ("api-products", "GET"): STAFF,
    ("api-products", "POST"): ADMIN_ONLY,
    ("api-borrowers", "POST"): ADMIN_ONLY,
    ("api-borrower", "GET"): STAFF,
    ("api-borrower-reveal", "POST"): PII,
    ("api-credit-lines", "POST"): ADMIN_ONLY,
    ("api-credit-line", "GET"): STAFF,
    ("api-loans", "GET"): STAFF,
    ("api-loans", "POST"): ADMIN_ONLY,
    ("api-loan", "GET"): STAFF,
    ("api-loan-payoff-quote", "GET"): STAFF,
    ("api-loan-payments", "GET"): STAFF,
    ("api-loan-payments", "POST"): DECIDERS,
    ("api-loan-autodebit-failures", "POST"): ADMIN_ONLY,
    ("api-payment-reverse", "POST"): ADMIN_ONLY,
    ("api-grace-policies", "GET"): ADMIN_ONLY,
    ("api-grace-policies", "POST"): ADMIN_ONLY,
    ("api-grace-policies-simulate", "POST"): ADMIN_ONLY,
    ("api-incident-windows", "GET"): ADMIN_ONLY,
    ("api-incident-windows", "POST"): ADMIN_ONLY,
    ("api-close-day", "POST"): ADMIN_ONLY,
    ("api-job-runs", "GET"): BOOK_READERS,
    ("api-retention-policies", "GET"): ADMIN_ONLY,
    ("api-retention-policies", "POST"): ADMIN_ONLY,
    # -- collections
    ("api-cases", "GET"): CASE_READERS,
    ("api-cases-next", "POST"): CASE_WORKERS,
    ("api-cases-reassign", "POST"): DECIDERS,
    ("api-case", "GET"): CASE_READERS,
    ("api-case-assign", "POST"): DECIDERS,
    ("api-case-contact-attempts", "GET"): CASE_READERS,
    ("api-case-contact-attempts", "POST"): CASE_WORKERS | {AGENCY},
    ("api-case-promises", "POST"): CASE_WORKERS,
    ("api-case-arrangements", "POST"): CASE_WORKERS,
    ("api-case-disputes", "POST"): CASE_WORKERS,
    ("api-case-field-visits", "POST"): CASE_WORKERS,
    ("api-case-place", "POST"): DECIDERS,
    ("api-case-recall", "POST"): DECIDERS,
    ("api-case-escalate-legal", "POST"): DECIDERS,
    ("api-case-write-off-review", "POST"): DECIDERS,
    ("api-arrangement-approve", "POST"): DECIDERS,
    ("api-arrangement-reject", "POST"): DECIDERS,
    ("api-dispute-resolve", "POST"): DECIDERS,
    ("api-field-visit-approve", "POST"): DECIDERS,
    ("api-field-visit-reject", "POST"): DECIDERS,
    ("api-field-visit-record", "POST"): CASE_WORKERS,
    ("api-complaints", "GET"): frozenset({ADMIN, SUPERVISOR, RISK_OFFICER}),
    ("api-complaints", "POST"): CASE_WORKERS,
    ("api-complaint-resolve", "POST"): DECIDERS,
    ("api-contact-policies", "GET"): ADMIN_ONLY,
    ("api-contact-policies", "POST"): ADMIN_ONLY,
    ("api-reminders", "GET"): DECIDERS,
    ("api-bureau-export", "GET"): BOOK_READERS,
    # -- scorecards
    ("api-models", "GET"): BOOK_READERS,
    ("api-model", "GET"): BOOK_READERS,
    ("api-model-promote", "POST"): ADMIN_ONLY,
    ("api-model-retire", "POST"): ADMIN_ONLY,
    ("api-limit-policies", "GET"): ADMIN_ONLY,
    ("api-limit-policies", "POST"): ADMIN_ONLY,
    # The schema and its browsable docs map every endpoint and field of the book: anyone signed
    # in (SPECTACULAR_SETTINGS SERVE_PERMISSIONS), not the public.
    ("api-schema", "GET"): SIGNED_IN,
    ("api-docs", "GET"): SIGNED_IN,
    # Any other path under /api/v1/: a 404 in the error shape, whatever the method.
    **{("api/v1/^", method): PUBLIC for method in API_METHODS},
}

WEB_RULES: Rules = {
    ("healthz", "GET"): PUBLIC,
    ("set_language", "GET"): PUBLIC,
    ("set_language", "POST"): PUBLIC,
    ("login", "GET"): PUBLIC,
    ("login", "POST"): PUBLIC,
    ("logout", "POST"): PUBLIC,
    # Home sends each role to where its work starts.
    ("home", "GET"): SIGNED_IN,
    ("home", "POST"): SIGNED_IN,
    ("loan_search", "GET"): STAFF,
    ("loan_search", "POST"): STAFF,
    ("loan_detail", "GET"): STAFF,
    ("loan_detail", "POST"): STAFF,
    # The loan page's reveal: the case page's rule (a collector's own case's loan is a 403 here).
    ("loan_reveal", "POST"): PII,
    ("operations", "GET"): BOOK_READERS,
    ("operations", "POST"): BOOK_READERS,
    ("close_day", "POST"): ADMIN_ONLY,
    ("grace_preview", "GET"): ADMIN_ONLY,
    ("grace_preview", "POST"): ADMIN_ONLY,
    **{
        (page, method): BOOK_READERS
        for page in ("dashboard_portfolio", "dashboard_roll_rates", "dashboard_vintages", "dashboard_expected_loss")
        for method in WEB_METHODS
    },
    **{
        (page, method): BOOK_READERS | {SUPERVISOR}
        for page in ("dashboard_collections", "dashboard_compliance")
        for method in WEB_METHODS
    },
    ("model_list", "GET"): BOOK_READERS,
    ("model_list", "POST"): BOOK_READERS,
    ("model_detail", "GET"): BOOK_READERS,
    ("model_detail", "POST"): BOOK_READERS,
    ("model_promote", "POST"): ADMIN_ONLY,
    ("model_retire", "POST"): ADMIN_ONLY,
    ("plotly_js", "GET"): PUBLIC,
    # -- collections
    ("collections_queue", "GET"): frozenset({COLLECTOR, AGENCY}),
    ("collections_queue", "POST"): frozenset({COLLECTOR, AGENCY}),
    ("collections_next", "POST"): frozenset({COLLECTOR}),
    # Any signed-in user reaches the case page's view; which case they see is object-level
    # (another's case is a 404, test_object_access.py).
    ("collections_case", "GET"): SIGNED_IN,
    ("collections_case", "POST"): SIGNED_IN,
    ("collections_attempt_row", "GET"): SIGNED_IN,
    ("collections_attempt_row", "POST"): SIGNED_IN,
    ("collections_reveal", "POST"): PII,
    ("collections_promise", "POST"): CASE_WORKERS,
    ("collections_arrangement", "POST"): CASE_WORKERS,
    ("collections_write_off_review", "POST"): DECIDERS,
    ("collections_team", "GET"): DECIDERS,
    ("collections_team", "POST"): DECIDERS,
    ("collections_reassign", "POST"): DECIDERS,
    ("collections_cap", "POST"): DECIDERS,
    ("collections_arrangement_decide", "POST"): DECIDERS,
    ("collections_field_visit_decide", "POST"): DECIDERS,
}

# -- the admin: open to the admin role only (riskdesk.core.admin.RoleAdminMixin) --------------

# What the admin role may do with each registered model: view, add, change, delete. Models
# of third-party apps keep Django's model permissions, which the admin group does not hold
# (a superuser manages tokens and login lockouts).
ADMIN_MODELS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("auth_user", "auth_group", "lending_product"), frozenset({"view", "add", "change", "delete"})),
    **dict.fromkeys(
        (
            "collections_queue",
            "collections_routingrule",
            "collections_reminderstep",
            "collections_agency",
            "collections_collectorprofile",
            "collections_messagetemplate",
        ),
        frozenset({"view", "add", "change", "delete"}),
    ),
    # Created through a service; a saved version is history.
    **dict.fromkeys(
        (
            "core_retentionpolicy",
            "lending_gracepolicy",
            "lending_incidentwindow",
            "collections_contactpolicy",
            "riskmodels_limitpolicy",
            "dashboards_lossgivendefault",
        ),
        frozenset({"view", "add"}),
    ),
    # The book and its history: read only.
    **dict.fromkeys(
        (
            "core_jobrun",
            "core_closedday",
            "core_auditlog",
            "lending_bucket",
            "lending_borrower",
            "lending_loan",
            "lending_payment",
            "lending_creditline",
            "lending_buckethistory",
            "collections_contactattempt",
            "collections_case",
            "collections_complaint",
            "riskmodels_modelversion",
            "riskmodels_modelmonitor",
            "riskmodels_modelperformance",
            "riskmodels_bandchange",
            "riskmodels_limitreduction",
        ),
        frozenset({"view"}),
    ),
    # Third-party admins: API tokens keep Django's model permissions, which the admin group
    # does not hold (a superuser manages them); django-axes lets the admin role read the
    # login attempts and lift a lockout (delete the attempt), and read the access log.
    "authtoken_tokenproxy": frozenset(),
    "axes_accessattempt": frozenset({"view", "delete"}),
    "axes_accesslog": frozenset({"view"}),
}

# Which permission each of a model admin's pages needs, by method.
ADMIN_PAGE_NEEDS = {
    ("changelist", "GET"): "view",
    ("changelist", "POST"): "view",
    ("add", "GET"): "add",
    ("add", "POST"): "add",
    ("change", "GET"): "view",
    ("change", "POST"): "change",
    ("delete", "GET"): "delete",
    ("delete", "POST"): "delete",
    ("history", "GET"): "view",
    ("history", "POST"): "view",
}


def admin_model_rules() -> Rules:
    rules: Rules = {}
    for model, may in ADMIN_MODELS.items():
        for (page, method), needs in ADMIN_PAGE_NEEDS.items():
            rules[(f"admin:{model}_{page}", method)] = ADMIN_ONLY if needs in may else NOBODY
        app, _, name = model.partition("_")
        for method in WEB_METHODS:
            # /admin/<app>/<model>/<id>/ redirects to the change page: the site's own check only.
            rules[(f"admin/{app}/{name}/<path:object_id>/", method)] = ADMIN_ONLY
    return rules


ADMIN_RULES: Rules = {
    **admin_model_rules(),
    ("admin:login", "GET"): PUBLIC,
    ("admin:login", "POST"): PUBLIC,
    ("admin:logout", "POST"): PUBLIC,
    **{
        (page, method): ADMIN_ONLY
        for page in (
            "admin:index",
            "admin:app_list",
            "admin:password_change",
            "admin:view_on_site",
            "admin/(?P<url>.*)$",
        )
        for method in WEB_METHODS
    },
    ("admin:password_change_done", "GET"): ADMIN_ONLY,
    ("admin:jsi18n", "GET"): ADMIN_ONLY,
    # Autocomplete answers only a query naming its model and field: without one, a 403 for all.
    ("admin:autocomplete", "GET"): NOBODY,
    ("admin:auth_user_password_change", "GET"): ADMIN_ONLY,
    ("admin:auth_user_password_change", "POST"): ADMIN_ONLY,
    ("admin:lending_bucket_edit_set", "GET"): ADMIN_ONLY,
    ("admin:lending_bucket_edit_set", "POST"): ADMIN_ONLY,
    ("admin:core_retentionpolicy_preview", "GET"): ADMIN_ONLY,
    ("admin:core_retentionpolicy_preview", "POST"): ADMIN_ONLY,
}

RULES: Rules = {**API_RULES, **WEB_RULES, **ADMIN_RULES}
