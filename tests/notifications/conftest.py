"""Fixtures of the notification tests: a show with a team, and a way to run commit hooks."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def team(make_creator, make_podcast):
    """A show with two members who have addresses, one who has none, and an outsider."""
    ann, ben, nomail = make_creator("ann"), make_creator("ben"), make_creator("nomail")
    get_user_model().objects.filter(pk=nomail.pk).update(email="")
    outsider = make_creator("outsider")
    show = make_podcast(members=[ann, ben, nomail], title="Team Show", slug="team-show")
    make_podcast(members=[outsider])
    return {"show": show, "ann": ann, "ben": ben, "outsider": outsider}
