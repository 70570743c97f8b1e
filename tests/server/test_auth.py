"""Tenants and bearer tokens: 401 without a valid token, 403 outside its tenant or role."""

from __future__ import annotations

import base64
import time

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from flightlog.config import Role, parse_config
from flightlog.server import create_app
from flightlog.server.deps import require_role
from flightlog.store import Store, StoreConfig

from .readback import stored_rows

_T0 = 1_767_225_600_000_000_000
_TOKENS = [
    {"token": "writer-a-token", "tenant": "a", "role": "write"},
    {"token": "reader-a-token", "tenant": "a", "role": "read"},
    {"token": "reader-all-token", "tenant": "*", "role": "read"},
    {"token": "admin-b-token", "tenant": "b", "role": "admin"},
]


def _push_body(label: str, line: str) -> dict:
    return {"streams": [{"stream": {"team": label}, "values": [[str(_T0), line]]}]}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_push_requires_a_token_bound_to_the_tenant_with_write_role(flightlog_server_factory):
    """No token 401, unknown token 401, read-only token 403, other tenant 403, right token 204."""
    server = flightlog_server_factory({"auth": {"tokens": _TOKENS}})
    body = _push_body("x", "hello")
    with server.client() as http:

        def push(headers: dict[str, str]) -> int:
            return http.post("/loki/api/v1/push", json=body, headers=headers).status_code

        assert push({"X-Scope-OrgID": "a"}) == 401
        assert push({"X-Scope-OrgID": "a", **_bearer("not-a-token")}) == 401
        assert push({"X-Scope-OrgID": "a", **_bearer("reader-a-token")}) == 403
        assert push({"X-Scope-OrgID": "b", **_bearer("writer-a-token")}) == 403
        assert push(_bearer("writer-a-token")) == 403, "no header means tenant 'default'"
        assert push({"X-Scope-OrgID": "a|b", **_bearer("writer-a-token")}) == 400
        assert push({"X-Scope-OrgID": "a", **_bearer("writer-a-token")}) == 204
        basic = base64.b64encode(b"a:writer-a-token").decode()
        assert push({"X-Scope-OrgID": "a", "Authorization": f"Basic {basic}"}) == 204, (
            "Grafana sends basic auth"
        )
        assert push({"X-Scope-OrgID": "b", **_bearer("admin-b-token")}) == 204, "admin may write"
        unauthorized = http.post("/loki/api/v1/push", json=body)
        assert unauthorized.json()["errorType"] == "unauthorized"
        assert unauthorized.headers["WWW-Authenticate"].startswith("Bearer")
        assert http.get("/ready").status_code == 200, "health needs no token"
    server.stop()
    assert [r[2] for r in stored_rows(server.data_dir, "a")] == ["hello", "hello"]
    assert [r[2] for r in stored_rows(server.data_dir, "b")] == ["hello"]
    assert stored_rows(server.data_dir, "default") == []


def test_tenants_are_isolated_in_the_store_and_the_read_api(flightlog_server):
    """What tenant A pushed is invisible to tenant B's reads, labels included."""
    now = str(time.time_ns())
    pushes = {"a": {"only_in_a": "alpha"}, "b": {"only_in_b": "beta"}}
    with flightlog_server.client() as http:
        for tenant, labels in pushes.items():
            body = {"streams": [{"stream": labels, "values": [[now, f"secret of {tenant}"]]}]}
            assert (
                http.post(
                    "/loki/api/v1/push", json=body, headers={"X-Scope-OrgID": tenant}
                ).status_code
                == 204
            )
        names = {
            t: http.get("/loki/api/v1/labels", headers={"X-Scope-OrgID": t}).json()["data"]
            for t in ("a", "b", "a|b")
        }
    assert names == {"a": ["only_in_a"], "b": ["only_in_b"], "a|b": ["only_in_a", "only_in_b"]}
    flightlog_server.stop()
    assert [r[2] for r in stored_rows(flightlog_server.data_dir, "a")] == ["secret of a"]
    with Store.open(StoreConfig(flightlog_server.data_dir), read_only=True) as store:
        assert store.label_values(["b"], "only_in_a", 0, 2**63 - 1) == []
        assert store.label_names(["b"], 0, 2**63 - 1) == ["only_in_b"]


@pytest.fixture
def read_client(tmp_path):
    """An in-process app with tokens and a probe route that needs the read role."""
    probe = APIRouter()

    @probe.get("/probe")
    def probe_route(tenants: tuple[str, ...] = Depends(require_role(Role.READ))) -> dict:
        return {"tenants": list(tenants)}

    config = parse_config({"auth": {"tokens": _TOKENS}}, data_dir=tmp_path / "data")
    app = create_app(config, route_modules=("health",))
    app.include_router(probe)
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("token", "header", "status", "tenants"),
    [
        ("reader-a-token", "a", 200, ["a"]),
        ("writer-a-token", "a", 403, None),
        ("reader-a-token", "a|b", 403, None),
        ("reader-all-token", "a|b|a", 200, ["a", "b"]),
        ("admin-b-token", "b", 200, ["b"]),
        ("reader-all-token", "bad tenant", 400, None),
        (None, "a", 401, None),
    ],
)
def test_read_role_and_multi_tenant_header(read_client, token, header, status, tenants):
    """require_role(READ) accepts a|b only when the token covers every tenant."""
    headers = {"X-Scope-OrgID": header, **(_bearer(token) if token else {})}
    response = read_client.get("/probe", headers=headers)
    assert response.status_code == status, response.text
    if tenants is not None:
        assert response.json() == {"tenants": tenants}
