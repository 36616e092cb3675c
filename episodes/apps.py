from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_groups(sender, **kwargs) -> None:
    from episodes.roles import ensure_creators_group

    ensure_creators_group()


class EpisodesConfig(AppConfig):
    name = "episodes"
    verbose_name = "Shows and episodes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # After migrate, when permissions exist: keep the Creators group current.
        post_migrate.connect(_ensure_groups, sender=self)
        import episodes.receivers  # noqa: F401  (pipeline receivers)
