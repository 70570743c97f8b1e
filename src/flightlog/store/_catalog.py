"""The SQLite catalog: streams, segments (with per-stream spans and blooms), WAL state.

Journal mode WAL, so readers in other processes see committed rows while the server
writes. Only the store's maintenance path (cut, retention, delete) writes here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import orjson

from flightlog.errors import StoreError

from ._fingerprint import from_sql_id, to_sql_id
from ._head import StreamState
from ._segment import SegmentMeta, StreamSpan

__all__ = ["FORMAT_VERSION", "Catalog"]

FORMAT_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS streams(
    tenant TEXT NOT NULL, stream_id INTEGER NOT NULL, labels TEXT NOT NULL,
    first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL,
    PRIMARY KEY (tenant, stream_id));
CREATE TABLE IF NOT EXISTS segments(
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, path TEXT NOT NULL UNIQUE,
    min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL, line_bytes INTEGER NOT NULL, created_ns INTEGER NOT NULL,
    bloom BLOB, bloom_ngram INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS segments_tenant_time ON segments(tenant, min_ts, max_ts);
CREATE TABLE IF NOT EXISTS segment_streams(
    segment_id INTEGER NOT NULL, stream_id INTEGER NOT NULL, rows INTEGER NOT NULL,
    line_bytes INTEGER NOT NULL, min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL,
    PRIMARY KEY (segment_id, stream_id));
CREATE TABLE IF NOT EXISTS wal_state(tenant TEXT PRIMARY KEY, flushed_seq INTEGER NOT NULL);
"""


class Catalog:
    """Read/write access to ``catalog.sqlite3`` for the one writing process."""

    def __init__(self, path: Path, *, fsync: bool, read_only: bool = False) -> None:
        self.path = path
        # Blooms are read from query threads while maintenance writes: a second
        # connection keeps the two from sharing one sqlite3 object.
        self._read_lock = threading.Lock()
        try:
            if read_only:
                self._db = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30
                )
            else:
                self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'OFF'}")
                self._db.executescript(_SCHEMA)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('format_version', ?)",
                    (FORMAT_VERSION,),
                )
                self._db.commit()
            row = self._db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the catalog {path}: {exc}: is this a flightlog data dir?"
            ) from exc
        self._reader = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30
        )
        if row is None or row[0] != FORMAT_VERSION:
            self._reader.close()
            self._db.close()
            raise StoreError(
                f"the catalog {path} has format version {row[0] if row else None!r}, this"
                f" flightlog reads version {FORMAT_VERSION}: use the matching flightlog version"
            )

    def close(self) -> None:
        self._reader.close()
        self._db.close()

    def data_version(self) -> int:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def load_all(self) -> tuple[list[SegmentMeta], dict[str, dict[int, StreamState]]]:
        """Segments and streams from one read transaction (a consistent pair)."""
        try:
            self._db.execute("BEGIN")
            try:
                return self.load_segments(), self.load_streams()
            finally:
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the catalog {self.path}: {exc}") from exc

    def load_bloom(self, segment_id: int) -> bytes:
        """The bloom blob of one segment (empty when the segment is gone)."""
        with self._read_lock:
            try:
                row = self._reader.execute(
                    "SELECT bloom FROM segments WHERE id = ?", (segment_id,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the catalog {self.path}: {exc}") from exc
        return bytes(row[0]) if row and row[0] else b""

    def flushed_seqs(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT tenant, flushed_seq FROM wal_state").fetchall())

    def load_streams(self) -> dict[str, dict[int, StreamState]]:
        result: dict[str, dict[int, StreamState]] = {}
        for tenant, sid, labels, first_ts, last_ts in self._db.execute(
            "SELECT tenant, stream_id, labels, first_ts, last_ts FROM streams"
        ):
            result.setdefault(tenant, {})[from_sql_id(sid)] = StreamState(
                labels=orjson.loads(labels), first_ts=first_ts, last_ts=last_ts
            )
        return result

    def load_segments(self) -> list[SegmentMeta]:
        spans: dict[int, dict[int, StreamSpan]] = {}
        for seg_id, sid, rows, line_bytes, min_ts, max_ts in self._db.execute(
            "SELECT segment_id, stream_id, rows, line_bytes, min_ts, max_ts FROM segment_streams"
        ):
            spans.setdefault(seg_id, {})[from_sql_id(sid)] = StreamSpan(
                rows, line_bytes, min_ts, max_ts
            )
        return [
            SegmentMeta(
                tenant=row[1],
                path=row[2],
                min_ts=row[3],
                max_ts=row[4],
                rows=row[5],
                bytes=row[6],
                line_bytes=row[7],
                created_ns=row[8],
                streams=spans.get(row[0], {}),
                bloom=b"",  # loaded on demand (load_bloom), blooms can add up to a lot
                id=row[0],
            )
            for row in self._db.execute(
                "SELECT id, tenant, path, min_ts, max_ts, rows, bytes, line_bytes, created_ns,"
                " NULL FROM segments ORDER BY min_ts"
            )
        ]

    def commit_changes(
        self,
        *,
        add: Iterable[SegmentMeta] = (),
        remove: Iterable[int] = (),
        streams: Mapping[str, Mapping[int, StreamState]] | None = None,
        drop_streams: Mapping[str, Iterable[int]] | None = None,
        flushed_seq: Mapping[str, int] | None = None,
    ) -> list[SegmentMeta]:
        """One transaction: add/remove segments, upsert/drop streams, move flushed seqs.

        Returns the added segments with their catalog ids.
        """
        from ._bloom import NGRAM

        added: list[SegmentMeta] = []
        db = self._db
        try:
            with db:
                for seg_id in remove:
                    db.execute("DELETE FROM segments WHERE id = ?", (seg_id,))
                    db.execute("DELETE FROM segment_streams WHERE segment_id = ?", (seg_id,))
                for meta in add:
                    cursor = db.execute(
                        "INSERT INTO segments(tenant, path, min_ts, max_ts, rows, bytes,"
                        " line_bytes, created_ns, bloom, bloom_ngram)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            meta.tenant,
                            meta.path,
                            meta.min_ts,
                            meta.max_ts,
                            meta.rows,
                            meta.bytes,
                            meta.line_bytes,
                            meta.created_ns,
                            meta.bloom,
                            NGRAM,
                        ),
                    )
                    seg_id = int(cursor.lastrowid or 0)
                    db.executemany(
                        "INSERT INTO segment_streams VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (seg_id, to_sql_id(sid), s.rows, s.line_bytes, s.min_ts, s.max_ts)
                            for sid, s in meta.streams.items()
                        ],
                    )
                    added.append(_with_id(meta, seg_id))
                for tenant, states in (streams or {}).items():
                    db.executemany(
                        "INSERT INTO streams VALUES (?, ?, ?, ?, ?)"
                        " ON CONFLICT(tenant, stream_id) DO UPDATE SET"
                        " first_ts = excluded.first_ts, last_ts = excluded.last_ts",
                        [
                            (
                                tenant,
                                to_sql_id(sid),
                                orjson.dumps(st.labels, option=orjson.OPT_SORT_KEYS).decode(),
                                st.first_ts,
                                st.last_ts,
                            )
                            for sid, st in states.items()
                        ],
                    )
                for tenant, ids in (drop_streams or {}).items():
                    db.executemany(
                        "DELETE FROM streams WHERE tenant = ? AND stream_id = ?",
                        [(tenant, to_sql_id(sid)) for sid in ids],
                    )
                for tenant, seq in (flushed_seq or {}).items():
                    db.execute(
                        "INSERT INTO wal_state VALUES (?, ?) ON CONFLICT(tenant) DO UPDATE"
                        " SET flushed_seq = max(flushed_seq, excluded.flushed_seq)",
                        (tenant, seq),
                    )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot update the catalog {self.path}: {exc}") from exc
        return added


def _with_id(meta: SegmentMeta, seg_id: int) -> SegmentMeta:
    from dataclasses import replace

    return replace(meta, id=seg_id)
