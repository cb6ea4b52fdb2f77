"""python manage.py train_model [--as-of YYYY-MM-DD] [--oot-months 3] [--base-score] [--base-odds] [--pdo] [--note]

Trains a scorecard on the book's matured month ends (training.model_version_train),
stores it as a challenger, and prints the samples, IV per feature, AUC/KS/Gini on the
training and out-of-time samples, and the out-of-time calibration by band.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from riskdesk.core.errors import DomainError
from riskdesk.riskmodels.models import ModelVersion
from riskdesk.riskmodels.training import IV_MIN, model_version_train


def _figure(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:.4f}"


class Command(BaseCommand):
    help = "Train a delinquency scorecard on the book's history and store it as a challenger model version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of", type=date.fromisoformat, help="a closed business day, at latest the last (default: the last)"
        )
        parser.add_argument("--oot-months", type=int, default=3, help="latest matured month ends held out of time")
        parser.add_argument("--base-score", type=Decimal)
        parser.add_argument("--base-odds", type=Decimal)
        parser.add_argument("--pdo", type=Decimal, help="points to double the odds")
        parser.add_argument("--note", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            version = model_version_train(
                as_of=options["as_of"],
                oot_months=options["oot_months"],
                base_score=options["base_score"],
                base_odds=options["base_odds"],
                pdo=options["pdo"],
                note=options["note"],
            )
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        self._report(version)

    def _report(self, version: ModelVersion) -> None:
        m = version.metrics
        write = self.stdout.write
        write(f"scorecard v{version.version} stored as {version.status}")
        write(
            f"training {version.training_start}..{version.training_end}, out of time {version.oot_start}..{version.oot_end}"
        )
        write(f"{'sample':<8} {'loans':>7} {'bads':>6} {'bad rate':>8} {'AUC':>7} {'KS':>7} {'Gini':>7}")
        for name in ("train", "oot"):
            s = m[name]
            write(
                f"{name:<8} {s['loans']:>7} {s['bads']:>6} {s['bad_rate']:>8.4f}"
                f" {_figure(s['auc']):>7} {_figure(s['ks']):>7} {_figure(s['gini']):>7}"
            )
        for segment, samples in m["segments"].items():
            for name, s in samples.items():
                write(f"  {segment} {name:<5} {s['loans']:>7} loans {s['bads']:>6} bads  AUC {_figure(s['auc'])}")
        write(f"information value (* selected; IV < {IV_MIN} dropped, or dropped for a wrong-sign coefficient):")
        for code, iv in sorted(m["iv"].items(), key=lambda item: -item[1]):
            write(f"  {'*' if code in m['selected'] else ' '} {code:<24} {iv:.4f}")
        write("calibration by band, out of time (predicted PD vs observed bad rate):")
        write(f"  {'band':<4} {'loans':>7} {'predicted':>9} {'observed':>9}")
        for row in m["calibration"]:
            write(f"  {row['band']:<4} {row['loans']:>7} {row['predicted']:>9.4f} {row['observed']:>9.4f}")
