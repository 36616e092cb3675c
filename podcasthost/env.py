"""Typed readers for environment variables that fail loudly, naming the variable.

Used by settings only. Every reader raises ``ImproperlyConfigured`` with the
variable's name and the accepted form when a value is malformed, so a typo in
a deployment stops the process at start-up instead of misbehaving later.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """Return the variable stripped of surrounding white space, or ``default``."""
    return os.environ.get(name, default).strip()


def env_required(name: str, why: str) -> str:
    """Return the variable, or raise naming it and saying why it is needed."""
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(f"Set the environment variable {name}: {why}")
    return value


def env_bool(name: str, default: bool) -> bool:
    """Parse 1/0, true/false, yes/no, on/off (any case); unset gives ``default``."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"Unexpected value {name}={raw!r}: use 1 or 0 (true/false).")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Parse a whole number, optionally bounded; unset gives ``default``."""
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ImproperlyConfigured(
            f"Unexpected value {name}={raw!r}: use a whole number."
        ) from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"Unexpected value {name}={raw!r}: must be at least {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"Unexpected value {name}={raw!r}: must be at most {maximum}.")
    return value


def env_float(name: str, default: float) -> float:
    """Parse a decimal number; unset gives ``default``."""
    raw = env_str(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"Unexpected value {name}={raw!r}: use a number.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    """Parse a comma-separated list, dropping empty items; unset gives ``default``."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """Return an absolute URL with one of ``schemes``; web URLs lose a trailing slash.

    ``unix``, ``memory`` and ``sqs`` URLs need no host (``sqs://``,
    ``unix:///run/redis.sock``) and are returned as given.
    """
    from urllib.parse import urlsplit

    value = env_str(name, default)
    parts = urlsplit(value)
    hostless = parts.scheme in ("unix", "memory", "sqs")
    if parts.scheme not in schemes or not (parts.netloc or hostless):
        raise ImproperlyConfigured(
            f"Unexpected value {name}={value!r}: use an absolute URL starting with "
            + " or ".join(f"{s}://" for s in schemes)
        )
    return value.rstrip("/") if parts.scheme in ("http", "https") else value
