"""The tail websocket with bearer tokens: the header, or a subprotocol as browsers send it."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from flightlog.server.deps import BEARER_SUBPROTOCOL_PREFIX, TAIL_SUBPROTOCOL

from .tailing import tail_lines_until

_READ_TOKEN = "tail-reader+/=é"  # characters a subprotocol cannot carry as they are
_WRITE_TOKEN = "tail-writer-token"
_OTHER_TENANT_TOKEN = "tail-other-tenant-token"
_TOKENS = [
    {"token": _READ_TOKEN, "tenant": "default", "role": "read"},
    {"token": _WRITE_TOKEN, "tenant": "default", "role": "write"},
    {"token": _OTHER_TENANT_TOKEN, "tenant": "elsewhere", "role": "read"},
]


def _bearer_subprotocol(token: str) -> str:
    encoded = base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
    return BEARER_SUBPROTOCOL_PREFIX + encoded


@pytest.fixture(scope="module")
def server(flightlog_module_server_factory: Any) -> Any:
    return flightlog_module_server_factory({"auth": {"tokens": _TOKENS}})


def _tail_url(server: Any, app: str = "tail-auth") -> str:
    """A tail of ``{app="<app>"}``: each test tails its own stream on the shared server."""
    query = f"?query=%7Bapp%3D%22{app}%22%7D&limit=10"
    return server.url.replace("http://", "ws://") + "/loki/api/v1/tail" + query


def _push(server: Any, line: str, app: str = "tail-auth") -> None:
    body = {"streams": [{"stream": {"app": app}, "values": [[str(time.time_ns()), line]]}]}
    headers = {"Authorization": f"Bearer {_WRITE_TOKEN}"}
    with server.client() as http:
        assert http.post("/loki/api/v1/push", json=body, headers=headers).status_code == 204


def test_tail_takes_the_token_as_a_subprotocol_and_answers_with_its_own(server: Any) -> None:
    """A browser-style subprotocol token tails; the chosen subprotocol is ours, not the token."""
    offered = [TAIL_SUBPROTOCOL, _bearer_subprotocol(_READ_TOKEN)]
    with connect(_tail_url(server), subprotocols=offered) as socket:  # type: ignore[arg-type]
        assert socket.subprotocol == TAIL_SUBPROTOCOL
        assert _READ_TOKEN not in str(socket.response.headers)
        _push(server, "seen through a subprotocol token")
        assert tail_lines_until(socket, "seen through a subprotocol token") == [
            "seen through a subprotocol token"
        ]


def test_tail_still_takes_the_authorization_header(server: Any) -> None:
    """logcli and other non-browser clients keep sending ``Authorization: Bearer``."""
    headers = {"Authorization": f"Bearer {_READ_TOKEN}"}
    with connect(_tail_url(server, "tail-header"), additional_headers=headers) as socket:
        _push(server, "seen through the header", "tail-header")
        assert tail_lines_until(socket, "seen through the header") == ["seen through the header"]


@pytest.mark.parametrize(
    ("subprotocols", "error_type"),
    [
        ([TAIL_SUBPROTOCOL], "unauthorized"),
        ([TAIL_SUBPROTOCOL, _bearer_subprotocol("not-a-token")], "unauthorized"),
        ([TAIL_SUBPROTOCOL, BEARER_SUBPROTOCOL_PREFIX + "%%%"], "unauthorized"),
        ([TAIL_SUBPROTOCOL, _bearer_subprotocol(_OTHER_TENANT_TOKEN)], "forbidden"),
    ],
    ids=["no-token", "unknown-token", "undecodable-token", "other-tenant"],
)
def test_tail_without_a_valid_token_says_why_and_closes(
    server: Any, subprotocols: list[str], error_type: str
) -> None:
    """The refusal names unauthorized or forbidden (what the UI prompts on), then closes 1008."""
    with connect(_tail_url(server), subprotocols=subprotocols) as socket:  # type: ignore[arg-type]
        message = orjson.loads(socket.recv(timeout=20))
        assert message["status"] == "error"
        assert message["errorType"] == error_type
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=20)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


def test_tail_tokens_never_reach_the_server_output(server: Any) -> None:
    """Neither a valid nor a refused subprotocol token is printed by the server."""
    refused = "refused-secret-token"
    offered = [TAIL_SUBPROTOCOL, _bearer_subprotocol(_READ_TOKEN)]
    with connect(_tail_url(server, "tail-output"), subprotocols=offered) as socket:  # type: ignore[arg-type]
        _push(server, "seen before the output is read", "tail-output")
        tail_lines_until(socket, "seen before the output is read")
    offered = [TAIL_SUBPROTOCOL, _bearer_subprotocol(refused)]
    with connect(_tail_url(server), subprotocols=offered) as socket:  # type: ignore[arg-type]
        assert orjson.loads(socket.recv(timeout=20))["errorType"] == "unauthorized"
    output = server.output()
    assert _READ_TOKEN not in output
    assert refused not in output
    assert _bearer_subprotocol(refused) not in output
