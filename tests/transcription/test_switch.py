"""The per-show switch, as a creator sets it in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from episodes.models import Podcast
from tests.episodes.test_admin_limits import show_form


@pytest.mark.parametrize(("posted", "stored"), [({"auto_transcribe": "on"}, True), ({}, False)])
def test_a_creator_turns_draft_transcripts_on_or_leaves_them_off(
    client, make_creator, posted, stored
):
    client.force_login(make_creator())
    add = reverse("admin:episodes_podcast_add")
    assert 'name="auto_transcribe"' in client.get(add).text

    response = client.post(add, show_form(**posted))

    assert response.status_code == 302
    assert Podcast.objects.get(slug="eves-second-show").auto_transcribe is stored
