"""Read positions: how far the agent has read each file, persisted so a restart resumes.

A file is known by its identity (``device:inode``), not its name, so a rotated file that
a glob still matches is not read twice; a fingerprint (hash of its first bytes) tells a
reused inode from the file that had it (as Promtail, Filebeat and Fluent Bit do). The
file is ``positions.json``, replaced atomically; ``seq`` is the last spooled batch the
offsets are consistent with.

A position outlives its file's name: a file renamed away (``train.log`` →
``train.log.1``, even while the agent was down) is found again by its identity among
the siblings of the name it was read under, and read to its end. A file read to its end
stays in the file as ``done`` (with its fingerprint and final offset) while it is still
there, so it is never adopted twice and a compressed copy of it (``train.log.1.gz``) is
recognised as content already read.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from flightlog.errors import ConfigError

__all__ = [
    "FINGERPRINT_BYTES",
    "FilePosition",
    "KnownFiles",
    "PositionsFile",
    "describes",
    "file_key",
    "fingerprint_of",
    "read_head",
]

FINGERPRINT_BYTES = 256
"""How much of a file's start its fingerprint covers (less while the file is shorter)."""

_GONE_MAX = 10_000


def fingerprint_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def file_key(stat: os.stat_result) -> str:
    """A file's identity: ``device:inode``."""
    return f"{stat.st_dev}:{stat.st_ino}"


@dataclass(frozen=True, slots=True)
class FilePosition:
    """Where reading of one file stands: bytes consumed and the fingerprint of its start."""

    path: str
    offset: int
    fingerprint: str = ""
    fingerprint_len: int = 0
    done: bool = False
    stream: str = ""
    """For an archive read in part: the file its lines belong to (its ``filename``), when
    that is not the archive (a compressed copy of a file read in part uncompressed)."""

    def to_json(self) -> dict[str, object]:
        raw: dict[str, object] = {
            "path": self.path,
            "offset": self.offset,
            "fingerprint": self.fingerprint,
            "fingerprint_len": self.fingerprint_len,
            "done": self.done,
        }
        if self.stream:
            raw["stream"] = self.stream
        return raw

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> FilePosition:
        return cls(
            path=str(raw["path"]),
            offset=int(raw["offset"]),  # type: ignore[call-overload]
            fingerprint=str(raw.get("fingerprint", "")),
            fingerprint_len=int(raw.get("fingerprint_len", 0)),  # type: ignore[call-overload]
            done=bool(raw.get("done", False)),
            stream=str(raw.get("stream", "")),
        )


def read_head(path: str, length: int = FINGERPRINT_BYTES) -> bytes | None:
    """The first ``length`` bytes of the file at ``path``, or None if it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(length)
    except OSError:
        return None


def describes(position: FilePosition, head: bytes) -> bool:
    """Whether a file starting with ``head`` is the one ``position`` was taken of.

    An inode is reused once its file is deleted; the fingerprint tells them apart. A file
    finished before any byte of it was read is only itself while it is still empty.
    """
    if not position.fingerprint_len:
        return not (position.done and head)
    return (
        len(head) >= position.fingerprint_len
        and fingerprint_of(head[: position.fingerprint_len]) == position.fingerprint
    )


class PositionsFile:
    """``positions.json`` in the agent's data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[int, dict[str, FilePosition]]:
        """``(seq, positions by file key)``; empty when the file does not exist yet."""
        try:
            raw = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return 0, {}
        except orjson.JSONDecodeError as exc:
            raise ConfigError(
                f"positions file {self.path} is not valid JSON ({exc}); move it away to "
                "re-read every file from the start"
            ) from exc
        files = {key: FilePosition.from_json(value) for key, value in raw.get("files", {}).items()}
        return int(raw.get("seq", 0)), files

    def save(self, seq: int, positions: Mapping[str, FilePosition]) -> None:
        """Replace the file atomically (write aside, then rename)."""
        body = orjson.dumps(
            {"seq": seq, "files": {key: pos.to_json() for key, pos in positions.items()}}
        )
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_bytes(body)
        os.replace(tmp, self.path)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


class KnownFiles:
    """The agent's positions by identity, with the files it finished and lately lost.

    ``positions`` is what is persisted (open files' entries are refreshed from their
    tailers before each save); ``changed`` says it holds changes not saved yet. Positions
    of files that are gone are kept in memory a while (``gone``): a compressed copy of
    such a file may still turn up, and must be read only past where we stopped.
    """

    def __init__(self, positions: dict[str, FilePosition]) -> None:
        self.positions = positions
        self.changed = False
        self._gone: dict[str, FilePosition] = {}
        self._verified: dict[str, tuple[int, int]] = {}
        """Identities whose head was checked, with the (mtime_ns, size) they had then."""

    def still_there(
        self,
        key: str,
        path: str,
        stat: os.stat_result,
        position: FilePosition,
        *,
        head_of: Callable[[str], bytes | None] = read_head,
    ) -> bool:
        """Whether the file at ``path`` is still the one ``position`` was taken of.

        The head is read again only when the file's mtime or size changed since the last
        check; ``head_of`` reads it (decompressing, for an archive).
        """
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._verified.get(key) == stamp:
            return True
        head = head_of(path)
        if head is None or not describes(position, head):
            self._verified.pop(key, None)
            return False
        self._verified[key] = stamp
        return True

    def finished(self, key: str, path: str) -> bool:
        """Whether the file at ``path`` (identity ``key``) was read to its end."""
        position = self.positions.get(key)
        if position is None or not position.done:
            return False
        stat = _stat(path)
        if stat is not None and self.still_there(key, path, stat, position):
            return True
        del self.positions[key]  # its inode now belongs to another file
        self.changed = True
        return False

    def finish(self, key: str, position: FilePosition) -> None:
        """Remember a file read to its end (kept while it is there: see ``find_renamed``)."""
        self.positions[key] = dataclasses.replace(position, done=True)
        self.changed = True

    def set(self, key: str, position: FilePosition) -> None:
        self.positions[key] = position
        self.changed = True

    def drop(self, key: str) -> None:
        """Forget a position whose inode another file now has."""
        self.positions.pop(key, None)
        self._verified.pop(key, None)
        self.changed = True

    def forget(self, key: str) -> None:
        """Drop the position of a file that is gone (remembered a while, see ``gone``)."""
        self.remember_gone(key, self.positions.pop(key))
        self._verified.pop(key, None)
        self.changed = True

    def remember_gone(self, key: str, position: FilePosition) -> None:
        """Keep the position of a file that is gone, in memory, for its archives."""
        if position.fingerprint_len:
            name = f"{key}/{position.fingerprint}"
            self._gone.pop(name, None)
            self._gone[name] = position
            if len(self._gone) > _GONE_MAX:
                del self._gone[next(iter(self._gone))]

    def tailed_before(self, path: str) -> bool:
        """Whether some file we know was read under the name ``path``."""
        return any(position.path == path for position in self.positions.values())

    def read_contents(self) -> list[FilePosition]:
        """Positions of the files read to their end or gone (what an archive may hold)."""
        done = [position for position in self.positions.values() if position.done]
        return [*done, *self._gone.values()]

    def find_renamed(
        self, key: str, position: FilePosition, listings: dict[str, list[str]]
    ) -> str | None:
        """Where the file ``key`` is now, among the siblings of ``position.path``.

        ``train.log`` read under that name may now be ``train.log.1`` or
        ``train.log-20240101`` (not a ``.gz``: that is another file). ``listings`` caches
        directory listings for one pass.
        """
        directory = os.path.dirname(position.path) or "."
        names = listings.get(directory)
        if names is None:
            try:
                names = sorted(os.listdir(directory))
            except OSError:
                names = []
            listings[directory] = names
        base = os.path.basename(position.path)
        for index in range(bisect.bisect_right(names, base), len(names)):
            name = names[index]
            if not name.startswith(base):
                break  # sorted: the names that extend `base` come right after it
            if name.endswith(".gz"):
                continue
            path = os.path.join(directory, name)
            stat = _stat(path)
            if stat is not None and file_key(stat) == key:
                return path if self.still_there(key, path, stat, position) else None
        return None
