"""Admin login is throttled: repeated wrong passwords lock one username from one address."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

LOGIN = "/admin/login/"
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """A cheap hasher: these tests check dozens of passwords, not the hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def erin(make_creator):
    return make_creator("erin", password=PASSWORD)


def _login(client, username: str, password: str, ip: str = "192.0.2.10", **headers):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=ip,
        **headers,
    )


def _logged_in(client) -> bool:
    # A creator's admin home redirects to their shows; a visitor lands on the login form.
    response = client.get("/admin/", follow=True)
    return response.status_code == 200 and response.request["PATH_INFO"] != "/admin/login/"


def _fail(client, username: str, times: int, ip: str = "192.0.2.10") -> list[int]:
    return [_login(client, username, f"wrong {n}", ip).status_code for n in range(times)]


def test_five_wrong_passwords_lock_out_even_the_right_one(client, erin):
    statuses = _fail(client, "erin", 5)

    response = _login(client, "erin", PASSWORD)

    # Four ordinary refusals (the form again), then the lockout page.
    assert statuses == [200, 200, 200, 200, 429]
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins" in text
    assert "“erin” has" in text
    assert "had 5 failed logins from your address" in text
    assert "refused for 15 minutes" in text
    assert not _logged_in(client)


def test_after_the_cool_off_the_right_password_works(client, erin):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _fail(client, "erin", 5)
        clock.shift(timedelta(seconds=899))
        assert _login(client, "erin", PASSWORD).status_code == 429
        # A refused try restarts the wait (django-axes' default).
        clock.shift(timedelta(seconds=901))

        response = _login(client, "erin", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert _logged_in(client)


def test_other_users_and_other_addresses_are_not_locked(client, erin, make_creator):
    make_creator("frank", password=PASSWORD)
    _fail(client, "erin", 5)

    assert _login(client, "frank", PASSWORD).status_code == 302
    client.logout()
    # The same username from another address: an attacker cannot lock erin out everywhere.
    assert _login(client, "erin", PASSWORD, ip="198.51.100.7").status_code == 302
    assert _logged_in(client)


def test_a_successful_login_forgets_earlier_failures(client, erin):
    _fail(client, "erin", 4)
    assert _login(client, "erin", PASSWORD).status_code == 302
    client.logout()

    assert _fail(client, "erin", 4) == [200, 200, 200, 200]
    assert _login(client, "erin", PASSWORD).status_code == 302


def test_limit_and_lockout_come_from_settings(client, erin, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=120)

    assert _fail(client, "erin", 2) == [200, 429]
    response = _login(client, "erin", PASSWORD)
    assert response.status_code == 429
    assert "refused for 2 minutes" in response.content.decode()


BALANCER = "10.0.0.1"


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_locked(client, erin, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = {"ip": BALANCER, "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    for n in range(5):
        _login(client, "erin", f"wrong {n}", **attacker)

    # Whatever the attacker writes in front, the balancer appends the real address.
    spoofed = _login(
        client, "erin", PASSWORD, BALANCER, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5"
    )
    # Erin herself, through the same balancer from her own address, still gets in.
    erin_login = _login(client, "erin", PASSWORD, BALANCER, HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert spoofed.status_code == 429
    assert erin_login.status_code == 302


def test_a_garbled_forwarded_header_falls_back_to_the_peer(client, erin, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    garbled = {"HTTP_X_FORWARDED_FOR": "not-an-address"}

    statuses = [
        _login(client, "erin", f"wrong {n}", BALANCER, **garbled).status_code for n in range(5)
    ]

    assert statuses == [200, 200, 200, 200, 429]
    assert _login(client, "erin", PASSWORD, BALANCER).status_code == 429
