"""The tail websocket's tenant: X-Scope-OrgID, or a subprotocol as browsers send it."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from flightlog.server.deps import TAIL_SUBPROTOCOL, TENANT_SUBPROTOCOL_PREFIX

from .tailing import tail_lines_until


def _tenant_subprotocol(tenant: str) -> str:
    return TENANT_SUBPROTOCOL_PREFIX + base64.urlsafe_b64encode(tenant.encode()).decode().rstrip(
        "="
    )


@pytest.fixture(scope="module")
def server(flightlog_module_server_factory: Any) -> Any:
    return flightlog_module_server_factory()


def _tail_url(server: Any, app: str) -> str:
    query = f"?query=%7Bapp%3D%22{app}%22%7D&limit=10"
    return server.url.replace("http://", "ws://") + "/loki/api/v1/tail" + query


def _push(server: Any, app: str, line: str, tenant: str | None = None) -> None:
    body = {"streams": [{"stream": {"app": app}, "values": [[str(time.time_ns()), line]]}]}
    headers = {"X-Scope-OrgID": tenant} if tenant else {}
    with server.client() as http:
        assert http.post("/loki/api/v1/push", json=body, headers=headers).status_code == 204


def test_tail_reads_the_tenant_of_the_subprotocol_and_never_echoes_it(server: Any) -> None:
    """Lines of default and team-a are stored; the tenant subprotocol tails team-a's only."""
    _push(server, "tenant-sub", "default's line")
    _push(server, "tenant-sub", "team-a's line", "team-a")
    offered = [TAIL_SUBPROTOCOL, _tenant_subprotocol("team-a")]
    with connect(_tail_url(server, "tenant-sub"), subprotocols=offered) as socket:  # type: ignore[arg-type]
        assert socket.subprotocol == TAIL_SUBPROTOCOL
        assert _tenant_subprotocol("team-a") not in str(socket.response.headers)
        assert tail_lines_until(socket, "team-a's line") == ["team-a's line"]


def test_tail_subprotocol_names_several_tenants(server: Any) -> None:
    """``a|b`` reads both tenants, as X-Scope-OrgID does."""
    _push(server, "tenant-multi", "from b", "team-b")
    _push(server, "tenant-multi", "from c", "team-c")
    offered = [TAIL_SUBPROTOCOL, _tenant_subprotocol("team-b|team-c")]
    with connect(_tail_url(server, "tenant-multi"), subprotocols=offered) as socket:  # type: ignore[arg-type]
        lines = tail_lines_until(socket, "from c")
        while "from b" not in lines:
            lines += tail_lines_until(socket, "from b")
    assert sorted(lines) == ["from b", "from c"]


def test_tail_header_wins_over_the_subprotocol(server: Any) -> None:
    """A client that sends X-Scope-OrgID (logcli) gets that tenant, whatever it offers."""
    _push(server, "tenant-header", "team-d's line", "team-d")
    _push(server, "tenant-header", "team-e's line", "team-e")
    offered = [TAIL_SUBPROTOCOL, _tenant_subprotocol("team-d")]
    headers = {"X-Scope-OrgID": "team-e"}
    url = _tail_url(server, "tenant-header")
    with connect(url, subprotocols=offered, additional_headers=headers) as socket:  # type: ignore[arg-type]
        assert tail_lines_until(socket, "team-e's line") == ["team-e's line"]


@pytest.mark.parametrize(
    "subprotocol",
    [TENANT_SUBPROTOCOL_PREFIX + "%%%", _tenant_subprotocol("not a tenant")],
    ids=["undecodable", "invalid-tenant"],
)
def test_tail_with_a_bad_tenant_subprotocol_says_why_and_closes(
    server: Any, subprotocol: str
) -> None:
    """An undecodable or invalid tenant is bad_data, then a 1008 close."""
    offered = [TAIL_SUBPROTOCOL, subprotocol]
    with connect(_tail_url(server, "tenant-bad"), subprotocols=offered) as socket:  # type: ignore[arg-type]
        message = orjson.loads(socket.recv(timeout=20))
        assert message["status"] == "error"
        assert message["errorType"] == "bad_data"
        assert "tenant" in message["error"]
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=20)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
