from __future__ import annotations

from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    # Lives at riskdesk.collections so it never shadows the standard library's
    # `collections`; the label keeps the app's name and its tables collections_*.
    name = "riskdesk.collections"
    label = "collections"
    verbose_name = "Collections"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Lending asks core which loans a collector may read; the answer is the cases'.
        from riskdesk.collections.access import book_part_of
        from riskdesk.core.access import book_part_rule_register

        book_part_rule_register(book_part_of)
