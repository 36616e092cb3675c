"""Which podcasthost instance a process belongs to, and whether PUBLIC_BASE_URL serves it.

Every process of one instance (web, workers, ops commands) shares the signing
key and the database, so an HMAC of the database's identity keyed with
``SECRET_KEY`` names the instance without revealing either. ``/healthz``
answers it; :func:`public_base_url_problem` compares the answer with ours, so
a ``PUBLIC_BASE_URL`` pointing at nothing, or at another instance (say the
``make run`` on port 8000 while this one runs on 8101), is noticed before
listeners' apps get broken enclosure and cover URLs.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import salted_hmac

HEALTH_PATH = "/healthz"


def instance_id() -> str:
    """A stable id shared by all processes using this ``SECRET_KEY`` and database."""
    db = settings.DATABASES["default"]
    identity = "|".join(str(db.get(k, "")) for k in ("ENGINE", "HOST", "PORT", "NAME"))
    return salted_hmac("podcasthost.instance", identity).hexdigest()[:16]


def healthz(request: HttpRequest) -> JsonResponse:
    """``GET /healthz``: ``{"status": "ok", "instance": <instance_id()>}``."""
    return JsonResponse({"status": "ok", "instance": instance_id()})


def public_base_url_problem(*, timeout_seconds: float = 5.0) -> str | None:
    """None when ``PUBLIC_BASE_URL`` answers as this instance, else the problem and its fix.

    Never raises: no answer, an error status, a foreign page or another
    instance's id are all reported in one sentence.
    """
    base = settings.PUBLIC_BASE_URL
    url = f"{base}{HEALTH_PATH}"
    fix = (
        "fix: start this instance's web server (`make run` with the same VAR_DIR and PORT), "
        "or set PUBLIC_BASE_URL (or PORT) to where it listens."
    )
    try:
        # Only ever our own configured http(s) URL (env_url checks the scheme).
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:  # noqa: S310
            answer = json.loads(response.read(4096))
    except urllib.error.HTTPError as exc:
        return f"PUBLIC_BASE_URL {base} answers {url} with HTTP {exc.code}, not podcasthost; {fix}"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"PUBLIC_BASE_URL {base} does not answer ({reason}); {fix}"
    theirs = answer.get("instance") if isinstance(answer, dict) else None
    if theirs != instance_id():
        return (
            f"PUBLIC_BASE_URL {base} answers as another podcasthost instance "
            f"(instance {theirs}, this one is {instance_id()}), so the feed's enclosure and "
            f"cover URLs point at the wrong server; {fix}"
        )
    return None
