"""manage.py demo_admin: the local superuser is created once and never reset."""

from __future__ import annotations

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command


def _demo_admin() -> str:
    out = StringIO()
    call_command("demo_admin", stdout=out)
    return out.getvalue().strip()


def test_created_once_with_the_stored_password(db, settings, tmp_path):
    settings.VAR_DIR, settings.DEBUG = tmp_path, True
    first = _demo_admin()
    stored = (tmp_path / "demo-admin-password").read_text().strip()

    assert first == f"Admin user: admin   password: {stored}"
    assert _demo_admin() == first
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password(stored)
    assert (tmp_path / "demo-admin-password").stat().st_mode & 0o077 == 0


def test_a_password_changed_in_the_admin_is_kept_and_its_session_stays(db, settings, tmp_path):
    # Issue 10 item 4: every make run used to reset it, logging the creator out.
    settings.VAR_DIR, settings.DEBUG = tmp_path, True
    _demo_admin()
    user = get_user_model().objects.get(username="admin")
    user.set_password("my own long passphrase")
    user.save()
    session_hash = user.get_session_auth_hash()

    line = _demo_admin()

    user.refresh_from_db()
    assert user.check_password("my own long passphrase")
    assert user.get_session_auth_hash() == session_hash
    assert "changed in the admin" in line
    assert (tmp_path / "demo-admin-password").read_text().strip() not in line
