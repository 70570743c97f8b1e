"""Forwarding to an Alertmanager: a real one (Debian's prometheus-alertmanager) when installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from flightlog.notify.config import load_alerting_config
from flightlog.notify.service import NotifyService
from flightlog.rules.alert import Alert, fingerprint

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
NO_ALERTMANAGER = pytest.mark.skipif(
    BINARY is None, reason="Alertmanager not installed (Debian package `prometheus-alertmanager`)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@NO_ALERTMANAGER
@pytest.mark.slow
def test_forwarded_alerts_show_up_in_alertmanager(tmp_path: Path) -> None:
    """An alertmanager_configs receiver posts to /api/v2/alerts and Alertmanager lists the alert."""
    assert BINARY is not None
    config = tmp_path / "am.yml"
    config.write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
    port = free_port()
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "alertmanager did not become ready"
            time.sleep(0.1)
        service = NotifyService(
            load_alerting_config(
                {
                    "route": {"receiver": "am", "group_wait": "0s"},
                    "receivers": [{"name": "am", "alertmanager_configs": [{"url": url}]}],
                }
            ),
            tmp_path / "state",
        )
        service.start()
        try:
            now = time.time()
            service.put(
                [
                    Alert(
                        {"alertname": "Forwarded", "service": "api"},
                        {"summary": "x"},
                        now,
                        now + 600,
                    )
                ]
            )
            deadline = time.monotonic() + 15
            while True:
                found = httpx.get(f"{url}/api/v2/alerts", timeout=2).json()
                if found:
                    break
                assert time.monotonic() < deadline, "alert never reached alertmanager"
                time.sleep(0.1)
        finally:
            service.stop()
        assert found[0]["labels"] == {"alertname": "Forwarded", "service": "api"}
        assert found[0]["annotations"] == {"summary": "x"}
        # Our fingerprint is Alertmanager's: the same label set hashes the same.
        assert found[0]["fingerprint"] == fingerprint(found[0]["labels"])
    finally:
        process.terminate()
        process.wait(10)


def test_forwarded_alerts_carry_their_tenant(tmp_path: Path) -> None:
    """A non-default tenant's alerts are forwarded with X-Scope-OrgID, as Loki's ruler sends them."""
    from prometheus_client import CollectorRegistry

    from flightlog.notify.metrics import NotifyMetrics
    from flightlog.notify.testing import RecordingReceiver

    with RecordingReceiver() as am:
        service = NotifyService(
            load_alerting_config(
                {
                    "route": {"receiver": "am", "group_wait": "0s"},
                    "receivers": [{"name": "am", "alertmanager_configs": [{"url": am.url}]}],
                }
            ),
            tmp_path / "state",
            metrics=NotifyMetrics.create(CollectorRegistry()),
        )
        service.start()
        try:
            now = time.time()
            service.put(
                [
                    Alert({"alertname": "A"}, {}, now, now + 600, tenant="team-a"),
                    Alert({"alertname": "A"}, {}, now, now + 600),
                ]
            )
            am.wait_for(2)
        finally:
            service.stop()
    tenants = sorted(h.get("X-Scope-OrgID", "-") for h in am.headers)
    assert tenants == ["-", "team-a"]
