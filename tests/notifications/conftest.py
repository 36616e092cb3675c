"""Fixtures of the notification tests: a show with a team, and a way to run commit hooks."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from episodes.roles import create_creator

# Shows the publish gate lets through: cover art, and media answering HEAD on a live server.
from tests.feeds.conftest import (  # noqa: F401
    app_server,
    cover_png,
    fresh_feed_cache,
    make_podcast,
    media_served_live,
)


@pytest.fixture
def team(db, make_podcast):  # noqa: F811 (the fixture imported above)
    """A show with two members who have addresses, one who has none, and an outsider."""
    # No passwords: hashing four of them would dominate these tests' time.
    ann, ben, nomail, outsider = (
        create_creator(name, f"{name}@example.com", None)
        for name in ("ann", "ben", "nomail", "outsider")
    )
    get_user_model().objects.filter(pk=nomail.pk).update(email="")
    show = make_podcast(members=[ann, ben, nomail], title="Team Show", slug="team-show")
    make_podcast(members=[outsider])
    return {"show": show, "ann": ann, "ben": ben, "outsider": outsider}
