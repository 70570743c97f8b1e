"""Smoke test of the server fixture: a JSON push is stored and read back after a graceful stop."""

from __future__ import annotations

from flightlog.store import Store, StoreConfig


def test_json_push_is_stored_and_flushed_on_sigterm(flightlog_server):
    """A pushed line answers 204 and is in a segment after SIGTERM."""
    body = {"streams": [{"stream": {"app": "a"}, "values": [["1767225600000000000", "hello"]]}]}
    with flightlog_server.client() as http:
        assert http.post("/loki/api/v1/push", json=body).status_code == 204
    assert flightlog_server.stop() == 0
    with Store.open(StoreConfig(flightlog_server.data_dir), read_only=True) as store:
        rows = [r for b in store.select(["default"], [], 0, 2**62) for r in b.to_pylist()]
    assert [r["line"] for r in rows] == ["hello"]
