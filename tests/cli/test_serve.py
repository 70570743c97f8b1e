"""``flightlog serve``: starts, and refuses bad configs and busy ports with one line."""

from __future__ import annotations

import socket
import subprocess
import sys


def _serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flightlog", "serve", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_bad_config_exits_2_with_one_line_naming_key_and_value(tmp_path):
    config = tmp_path / "flightlog.yaml"
    config.write_text("limits:\n  defaults:\n    max_line_bytes: lots\n")
    result = _serve("--config", str(config), "--data-dir", str(tmp_path / "d"), "--port", "0")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "limits.defaults.max_line_bytes = 'lots'" in lines[0]
    assert str(config) in lines[0]


def test_busy_port_exits_with_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _serve("--data-dir", str(tmp_path / "d"), "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; pick another --port"
    ]


def test_serve_prints_its_address_first(flightlog_server):
    """The fixture runs `python -m flightlog serve --port 0`; line one names the real port."""
    assert flightlog_server.output().startswith(f"flightlog listening on {flightlog_server.url} ")
    result = _serve("--data-dir", str(flightlog_server.data_dir), "--port", "0")
    assert result.returncode != 0, "a second server on the same data dir must not start"
    assert "in use by another flightlog process" in result.stderr


def test_listening_socket_gives_connections_tcp_nodelay() -> None:
    """Accepted connections have TCP_NODELAY: a keep-alive response is not held back
    waiting for the client's delayed ACK (which made every API call take ~40 ms)."""
    import asyncio
    import socket

    from flightlog.cli.serve import listening_socket

    sock = listening_socket("127.0.0.1", 0)
    seen: dict[str, int] = {}

    async def connect_once() -> None:
        accepted = asyncio.Event()

        class Record(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                seen["nodelay"] = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                accepted.set()

        server = await asyncio.get_running_loop().create_server(Record, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        await asyncio.wait_for(accepted.wait(), 10)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(connect_once())
    assert seen["nodelay"] != 0
