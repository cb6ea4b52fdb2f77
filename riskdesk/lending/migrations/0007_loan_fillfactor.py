"""Leave room on each page of lending_loan for the night's in-place updates (Postgres).

Close of day rewrites a share of the loans every night: step 1 their state, step 3 the
champion's band, PD, score and reasons (a quarter of a book on a normal night). None of
those columns is indexed, so with free space on the row's page Postgres updates it in
place (a HOT update) instead of writing a new row version into every index of the table.
"""

from __future__ import annotations

from django.db import migrations

FILLFACTOR = 75


def set_fillfactor(apps, schema_editor, value: int | None = FILLFACTOR) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    setting = f"SET (fillfactor = {value})" if value else "RESET (fillfactor)"
    schema_editor.execute(f"ALTER TABLE lending_loan {setting}")


def reset_fillfactor(apps, schema_editor) -> None:
    set_fillfactor(apps, schema_editor, None)


class Migration(migrations.Migration):
    dependencies = [("lending", "0006_loan_risk_score_and_reasons")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
