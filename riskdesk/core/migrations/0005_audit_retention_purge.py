"""On Postgres, let the retention purge (and nothing else) delete audit rows past the minimum.

The audit log stays append-only: UPDATE is always refused, and so is DELETE, unless the
transaction said it purges (`riskdesk.retention_purge` = 'on', set local) and named its
cutoff (`riskdesk.retention_cutoff`), the row is older than that cutoff, and the cutoff is
at least the legal minimum (MINIMUM_DAYS, riskdesk.core.retention) before now.
"""

from __future__ import annotations

from django.db import migrations

MINIMUM_DAYS = 1827

PURGEABLE = f"""
CREATE OR REPLACE FUNCTION core_auditlog_append_only() RETURNS trigger AS $$
DECLARE
    purge_cutoff timestamptz;
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('riskdesk.retention_purge', true) = 'on' THEN
        purge_cutoff := NULLIF(current_setting('riskdesk.retention_cutoff', true), '')::timestamptz;
        IF purge_cutoff IS NOT NULL
           AND purge_cutoff <= now() - interval '{MINIMUM_DAYS} days'
           AND OLD.at < purge_cutoff THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'core_auditlog is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION core_auditlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_auditlog is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PURGEABLE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_retention_default_versions")]
    operations = [migrations.RunPython(forwards, backwards)]
