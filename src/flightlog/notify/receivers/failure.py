"""Why a delivery failed: reason constants used in messages and as metric labels."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from flightlog.errors import NotifyError

if TYPE_CHECKING:
    import httpx  # imported where used: httpx pulls in rich (~0.3 s of server start)

__all__ = ["DeliveryFailed", "FailureReason", "post_json"]


class FailureReason(StrEnum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    SMTP = "smtp"
    # The integration's settings could not be used at send time (an unreadable ``url_file``).
    CONFIG = "config"
    # The send raised something unexpected (a bug): counted, never retried, never fatal.
    INTERNAL = "internal"


class DeliveryFailed(NotifyError):
    """A send failed; ``retryable`` is false for answers a retry cannot change (4xx)."""

    def __init__(self, reason: FailureReason, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable


def post_json(
    client: httpx.Client,
    url: str,
    body: object,
    timeout_s: float,
    headers: dict[str, str] | None = None,
) -> None:
    """POST a JSON body on a kept-alive client; map every failure to a ``DeliveryFailed``."""
    import httpx

    try:
        response = client.post(url, json=body, timeout=timeout_s, headers=headers)
    except httpx.TimeoutException as exc:
        raise DeliveryFailed(
            FailureReason.TIMEOUT, f"POST {url} timed out after {timeout_s}s"
        ) from exc
    except httpx.HTTPError as exc:
        raise DeliveryFailed(FailureReason.CONNECTION, f"POST {url} failed: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryFailed(FailureReason.HTTP_5XX, f"POST {url} answered {response.status_code}")
    if response.status_code >= 400:
        raise DeliveryFailed(
            FailureReason.HTTP_4XX,
            f"POST {url} answered {response.status_code}: {response.text[:200]}",
            retryable=False,
        )
