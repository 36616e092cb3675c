"""The address a request came from, through the proxies this deployment trusts.

Used by the login throttling (``AXES_CLIENT_IP_CALLABLE``). Each trusted proxy
(a load balancer, CloudFront) appends the address it saw to ``X-Forwarded-For``,
so with ``TRUSTED_PROXY_COUNT = n`` the client is the n-th entry from the right;
anything to the left of it was written by the client and is ignored.
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address; ``REMOTE_ADDR`` when no trusted proxy vouches for another.

    Never raises and never returns a malformed address (it is stored in an IP column).
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count or not _valid(forwarded[-count]):
        # Not through all the proxies (or garbled): the peer is the best we know.
        return remote
    return forwarded[-count]
