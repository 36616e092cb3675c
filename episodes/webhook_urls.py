"""Which URLs a creator may register as a webhook: public http(s) only (an SSRF guard).

Checked when the webhook is saved and again, by :mod:`podcasthost.outbound`,
on every delivery (a name may resolve elsewhere later). Private and loopback
addresses are allowed only with ``WEBHOOK_ALLOW_PRIVATE_ADDRESSES`` (on in
development, so a receiver on this machine can be tried).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from podcasthost import outbound


def validate_webhook_url(value: str) -> None:
    """Raise ``ValidationError`` with the reason unless ``value`` is a URL we will call."""
    try:
        _scheme, host, port, _path = outbound.check_url(value)
        outbound.resolve(host, port, public_only=not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
    except outbound.RefusedURL as exc:
        raise ValidationError(str(exc)) from None
    except outbound.OutboundError:
        raise ValidationError(
            f"{host} does not resolve; check the host name (DNS must know it when you save)."
        ) from None
