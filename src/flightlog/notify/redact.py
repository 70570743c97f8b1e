"""Secrets out of an ``alertmanager.yml`` before anyone is shown it: ``<secret>``, as
Alertmanager's ``/api/v2/status`` writes them.

``redact_secrets`` returns a copy of the document with every secret value replaced:
the ``global:`` secrets (``smtp_auth_password``, ``slack_api_url``, ...), an
integration's keys, passwords and tokens, and the URLs that carry a token (a webhook's
or Alertmanager forward's ``url``, Slack's ``api_url``, Discord's and Teams'
``webhook_url``). ``*_file`` paths are not secrets and stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SECRET", "redact_secrets"]

SECRET = "<secret>"

# Secret wherever they appear (Alertmanager's ``Secret`` fields, http_config included).
_SECRET_KEYS = frozenset(
    {
        "smtp_auth_password",
        "smtp_auth_secret",
        "slack_api_url",
        "opsgenie_api_key",
        "wechat_api_secret",
        "victorops_api_key",
        "rocketchat_token",
        "rocketchat_token_id",
        "auth_password",
        "auth_secret",
        "password",
        "bearer_token",
        "credentials",
        "client_secret",
        "routing_key",
        "service_key",
        "api_key",
        "api_secret",
        "token",
        "token_id",
        "bot_token",
        "user_key",
        "webhook_url",
    }
)
# Secret only inside these integrations: their URL carries the token.
_SECRET_URLS = {
    "webhook_configs": "url",
    "alertmanager_configs": "url",
    "slack_configs": "api_url",
}


def redact_secrets(document: Any, _url_key: str | None = None) -> Any:
    """A copy of ``document`` with its secrets replaced by ``<secret>``."""
    if isinstance(document, Mapping):
        out: dict[Any, Any] = {}
        for key, value in document.items():
            if value not in (None, "") and (key in _SECRET_KEYS or key == _url_key):
                out[key] = SECRET
            else:
                out[key] = redact_secrets(value, _SECRET_URLS.get(str(key)))
        return out
    if isinstance(document, list):
        # A list under ``webhook_configs`` holds the integrations whose ``url`` is secret.
        return [redact_secrets(item, _url_key) for item in document]
    return document
