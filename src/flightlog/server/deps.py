"""FastAPI dependencies every router uses: services, tenants, auth.

    from fastapi import Depends
    from flightlog.server.deps import get_services, get_store, require_role
    from flightlog.config import Role

    @router.get("/loki/api/v1/labels")
    def labels(tenants: tuple[str, ...] = Depends(require_role(Role.READ)),
               store = Depends(get_store)): ...

Tenants come from ``X-Scope-OrgID`` (default ``default``); reads may name several
tenants as ``a|b`` (Loki's multi-tenant query). With tokens configured, a request needs
``Authorization: Bearer <token>`` (or HTTP Basic with the token as password, which is
what Grafana's data source sends): no valid token is 401, a token not bound to every
requested tenant or without the role is 403.

Browsers cannot set headers on a WebSocket, so the ``tail`` websocket also takes the
token as a subprotocol (Kubernetes does the same): the client offers ``flightlog`` and
``base64url.bearer.flightlog.<base64url(token), no padding>``; the server answers with
``flightlog`` and never echoes the token. Unlike a query parameter, it stays out of
access logs and proxy URLs. The tenants likewise: without an ``X-Scope-OrgID`` header,
``base64url.tenant.flightlog.<base64url(header value)>`` names them (``websocket_tenant_ids``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fastapi import Request

from flightlog.config import AuthConfig, Config, Role
from flightlog.errors import AuthError, ForbiddenError
from flightlog.model import DEFAULT_TENANT
from flightlog.server.errors import HTTPError
from flightlog.server.services import Services

if TYPE_CHECKING:
    from flightlog.store import Store

__all__ = [
    "BEARER_SUBPROTOCOL_PREFIX",
    "TAIL_SUBPROTOCOL",
    "TENANT_HEADER",
    "TENANT_SUBPROTOCOL_PREFIX",
    "authorize",
    "get_config",
    "get_services",
    "get_store",
    "require_role",
    "tenant_id",
    "tenant_ids",
    "websocket_authorization",
    "websocket_tenant_ids",
]

TENANT_HEADER = "X-Scope-OrgID"
TAIL_SUBPROTOCOL = "flightlog"
BEARER_SUBPROTOCOL_PREFIX = "base64url.bearer.flightlog."
TENANT_SUBPROTOCOL_PREFIX = "base64url.tenant.flightlog."
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*=*\Z")
_TENANT_ID = re.compile(r"[a-zA-Z0-9!\-_.*'()]{1,150}\Z")


def get_services(request: Request) -> Services:
    """The running server's ``Services``; 503 while it is starting or stopping."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        raise HTTPError(503, "flightlog is starting or shutting down; retry shortly")
    return services


def get_store(request: Request) -> Store:
    return get_services(request).store


def get_config(request: Request) -> Config:
    return get_services(request).config


def _check_tenant(tenant: str) -> str:
    if _TENANT_ID.match(tenant) is None or tenant in (".", ".."):
        raise HTTPError(
            400,
            f"invalid tenant ID {tenant!r} in {TENANT_HEADER}: use up to 150 letters, digits "
            "and !-_.*'() characters",
        )
    return tenant


def tenant_ids(request: Request) -> tuple[str, ...]:
    """Tenants a read request names: ``X-Scope-OrgID: a|b``, de-duplicated, in order."""
    return _parse_tenants(request.headers.get(TENANT_HEADER, ""))


def _parse_tenants(header: str) -> tuple[str, ...]:
    header = header.strip()
    if not header:
        return (DEFAULT_TENANT,)
    return tuple(dict.fromkeys(_check_tenant(t.strip()) for t in header.split("|")))


def _decode_subprotocol(offered: str, prefix: str) -> str:
    """The UTF-8 text after ``prefix`` in base64url (padding optional); ValueError if none."""
    encoded = offered.removeprefix(prefix)
    if _BASE64URL.match(encoded) is None:  # the decoder would skip other characters
        raise ValueError(f"not base64url: {prefix}…")
    # binascii.Error and UnicodeDecodeError are ValueErrors, as is non-ASCII text.
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")


def websocket_tenant_ids(header: str | None, subprotocols: Sequence[str]) -> tuple[str, ...]:
    """A websocket's tenants: its ``X-Scope-OrgID`` header, else a tenant subprotocol.

    Browsers cannot set headers on a websocket, so they offer
    ``base64url.tenant.flightlog.<base64url(a|b)>``; with neither, the tenant is ``default``.
    A subprotocol that does not decode raises ``ValueError``, a bad tenant ``HTTPError``.
    """
    if header and header.strip():
        return _parse_tenants(header)
    for offered in subprotocols:
        if offered.startswith(TENANT_SUBPROTOCOL_PREFIX):
            try:
                return _parse_tenants(_decode_subprotocol(offered, TENANT_SUBPROTOCOL_PREFIX))
            except ValueError as exc:
                raise ValueError("the tenant subprotocol is not base64url of UTF-8 text") from exc
    return (DEFAULT_TENANT,)


def tenant_id(request: Request) -> str:
    """The one tenant a write names; several (``a|b``) are refused with 400."""
    tenants = tenant_ids(request)
    if len(tenants) != 1:
        raise HTTPError(
            400,
            f"{TENANT_HEADER} must name exactly one tenant for this request, got {'|'.join(tenants)!r}",
        )
    return tenants[0]


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def websocket_authorization(authorization: str | None, subprotocols: Sequence[str]) -> str | None:
    """The credentials of a websocket: its ``Authorization`` header, else a bearer subprotocol.

    A subprotocol that does not decode to UTF-8 text counts as no token (401 follows).
    """
    if authorization:
        return authorization
    for offered in subprotocols:
        if not offered.startswith(BEARER_SUBPROTOCOL_PREFIX):
            continue
        try:
            token = _decode_subprotocol(offered, BEARER_SUBPROTOCOL_PREFIX)
        except ValueError:
            return None
        return f"Bearer {token}" if token else None
    return None


def authorize(
    auth: AuthConfig, authorization: str | None, tenants: tuple[str, ...], role: Role
) -> None:
    """Raise ``AuthError`` (401) or ``ForbiddenError`` (403) unless the token allows it."""
    if not auth.enabled:
        return
    token = _bearer(authorization)
    if token is None:
        raise AuthError("this server requires a token: send Authorization: Bearer <token>")
    bound = auth.find(token)
    if bound is None:
        raise AuthError("the bearer token is not valid for this server")
    if not bound.role.allows(role):
        raise ForbiddenError(
            f"the token's role {bound.role.value!r} does not allow {role.value!r} requests"
        )
    for tenant in tenants:
        if not bound.covers(tenant):
            raise ForbiddenError(f"the token is not bound to tenant {tenant!r}")


def require_role(
    role: Role, *, multi_tenant: bool | None = None
) -> Callable[[Request], tuple[str, ...]]:
    """A dependency returning the request's tenants once the token allows ``role`` on all.

    ``multi_tenant`` (default: only for ``read``) allows ``X-Scope-OrgID: a|b``.
    """
    allow_many = role is Role.READ if multi_tenant is None else multi_tenant

    def dependency(request: Request) -> tuple[str, ...]:
        tenants = tenant_ids(request) if allow_many else (tenant_id(request),)
        authorize(
            get_services(request).config.auth, request.headers.get("authorization"), tenants, role
        )
        return tenants

    dependency.__name__ = f"require_{role.value}"
    return dependency
