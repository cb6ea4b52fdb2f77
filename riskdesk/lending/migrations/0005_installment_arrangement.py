import django.db.models.deletion
from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0004_loan_arrangement"),
    ]

    operations = [
        migrations.AddField(
            model_name="installment",
            name="penalty_waived",
            field=models.DecimalField(
                db_default=Decimal("0.00"), decimal_places=2, default=Decimal("0.00"), max_digits=14
            ),
        ),
        migrations.AddField(
            model_name="installment",
            name="superseded_on",
            field=models.DateField(
                blank=True,
                help_text="the day an arrangement closed it and moved what was unpaid to new installments",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="installment",
            name="arrangement",
            field=models.ForeignKey(
                blank=True,
                help_text="the arrangement whose new schedule this installment belongs to",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="installments",
                to="lending.loanarrangement",
            ),
        ),
    ]
