"""A ``Storage`` that stands for a ``STORAGES`` alias and looks it up on every call.

A ``FileField(storage=callable)`` calls the callable once, when the model class
is created, and keeps the result: returning ``storages["media"]`` there pins
whatever the settings said at import time, so ``override_settings(STORAGES=...)``
(and the tests' temporary folders) never reach the field. This proxy is what
the callable returns instead; each operation resolves the alias at use time, as
STYLE.md asks of every storage lookup.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import Storage, storages
from django.utils.deconstruct import deconstructible

# Every public method of django.core.files.storage.Storage: forwarded, not inherited,
# so the aliased backend's own implementations (S3's url(), its save()) are the ones used.
_FORWARDED = (
    "open",
    "save",
    "get_valid_name",
    "get_alternative_name",
    "get_available_name",
    "generate_filename",
    "is_name_available",
    "path",
    "delete",
    "exists",
    "listdir",
    "size",
    "url",
    "get_accessed_time",
    "get_created_time",
    "get_modified_time",
)


@deconstructible(path="podcasthost.storage.alias.StorageAlias")
class StorageAlias(Storage):
    """Forwards every operation to ``storages[alias]`` as configured at the moment of the call."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    @property
    def backend(self) -> Storage:
        return storages[self.alias]

    def __getattr__(self, name: str) -> Any:
        # Backend attributes such as ``location``, ``base_url`` or ``bucket_name``.
        if name == "alias":  # not yet set (unpickling): never recurse
            raise AttributeError(name)
        return getattr(self.backend, name)

    def __repr__(self) -> str:
        return f"StorageAlias({self.alias!r})"


def _forward(name: str):
    def method(self: StorageAlias, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.backend, name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``storages[alias].{name}(...)``."
    return method


for _name in _FORWARDED:
    setattr(StorageAlias, _name, _forward(_name))
