"""manage.py create_creator USERNAME EMAIL [--password P]: add a creator account."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from episodes.roles import create_creator


class Command(BaseCommand):
    help = "Create or update a creator: a staff user who manages only the shows they belong to."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("email")
        parser.add_argument(
            "--password", help="Omit to leave the password unusable (set it later)."
        )

    def handle(self, *args, username: str, email: str, password: str | None, **options) -> None:
        user = create_creator(username, email, password)
        self.stdout.write(self.style.SUCCESS(f"Creator {user.username} is ready."))
