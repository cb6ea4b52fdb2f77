"""python manage.py demo_logins: (re)create the demo users if missing and print their logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from riskdesk import demo


class Command(BaseCommand):
    help = "Create the demo users (one per role) if missing and print their logins."

    def handle(self, *args: Any, **options: Any) -> None:
        made = demo.demo_users_ensure()
        self.stdout.write("Demo logins (http://127.0.0.1:8000/, Django admin at /admin/):")
        self.stdout.write(f"  {'username':<14} {'password':<22} role")
        for login, created in made:
            note = " (created)" if created else ""
            self.stdout.write(f"  {login.username:<14} {login.password:<22} {login.role}{note}")
        self.stdout.write("A user whose password was changed keeps it: these are the passwords the seed sets.")
