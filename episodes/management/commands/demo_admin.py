"""manage.py demo_admin: the superuser ``make run`` prints, for local use only."""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create the local demo superuser 'admin' once, with a random password kept in "
        "var/demo-admin-password, and print the credentials (never resetting a password "
        "changed since). Refused when DEBUG is off."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_admin is for local development; use createsuperuser.")
        path = settings.VAR_DIR / "demo-admin-password"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Readable by this user only from the start; complete before it is visible.
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(12))
            tmp.replace(path)
        password = path.read_text().strip()
        users = get_user_model().objects
        # Created once: a later run must not reset a password changed in the admin
        # (nor log the creator out by rotating the session hash).
        if not users.filter(username="admin").exists():
            users.create_superuser("admin", "admin@localhost", password)
        elif not users.get(username="admin").check_password(password):
            self.stdout.write(
                "Admin user: admin   password: (changed in the admin since "
                f"{path} was written; use yours)"
            )
            return
        self.stdout.write(f"Admin user: admin   password: {password}")
