"""Read positions: how far the agent has read each file, persisted so a restart resumes.

A file is known by its identity (``device:inode``), not its name, so a rotated file that
a glob still matches is not read twice; a fingerprint (hash of its first bytes) tells a
reused inode from the file that had it. The file is ``positions.json``, replaced
atomically; ``seq`` is the last spooled batch the offsets are consistent with.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from flightlog.errors import ConfigError

__all__ = ["FilePosition", "PositionsFile", "file_key"]


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

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "offset": self.offset,
            "fingerprint": self.fingerprint,
            "fingerprint_len": self.fingerprint_len,
            "done": self.done,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> FilePosition:
        return cls(
            path=str(raw["path"]),
            offset=int(raw["offset"]),  # type: ignore[call-overload]
            fingerprint=str(raw.get("fingerprint", "")),
            fingerprint_len=int(raw.get("fingerprint_len", 0)),  # type: ignore[call-overload]
            done=bool(raw.get("done", False)),
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
