"""The "Creators" group: staff users who manage their own shows in the admin."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

CREATORS_GROUP = "Creators"
_PERMISSIONS = {
    "podcast": ("add", "change", "delete", "view"),
    "episode": ("add", "change", "delete", "view"),
    "rendition": ("view",),
    "chapter": ("add", "change", "delete", "view"),
    "webhook": ("add", "change", "delete", "view"),
    "webhookdelivery": ("view",),
    "transcript": ("add", "change", "delete", "view"),
    # The Podcasting 2.0 rows, edited as inlines of their show or episode.
    **dict.fromkeys(
        (
            "podcastperson",
            "episodeperson",
            "podcastfunding",
            "podcasttrailer",
            "podcasttxt",
            "podrollitem",
        ),
        ("add", "change", "delete", "view"),
    ),
}


def ensure_creators_group() -> Group:
    """Create or repair the group with exactly the creators' model permissions. Idempotent."""
    group, _ = Group.objects.get_or_create(name=CREATORS_GROUP)
    codenames = [
        f"{action}_{model}" for model, actions in _PERMISSIONS.items() for action in actions
    ]
    perms = Permission.objects.filter(content_type__app_label="episodes", codename__in=codenames)
    group.permissions.set(perms)
    return group


def create_creator(username: str, email: str, password: str | None):
    """Create (or update) a staff user in the Creators group; no password = unusable."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.email = email
    user.is_staff = True
    if password:
        user.set_password(password)
    elif not user.has_usable_password():
        user.set_unusable_password()
    user.save()
    user.groups.add(ensure_creators_group())
    return user
