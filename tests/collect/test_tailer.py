"""FileTailer's hold on one inode, and finding that inode again under its rotated name."""

from __future__ import annotations

import os

import pytest

from flightlog.collect.positions import file_key
from flightlog.collect.tailer import FileTailer, renamed_sibling


def _rotate(path, rotated_name: str) -> str:
    """Rename ``path`` away and start a new file there; returns the old file's identity."""
    key = file_key(os.stat(path))
    os.rename(path, path.parent / rotated_name)
    path.write_text("new file\n")
    return key


def test_tailer_refuses_a_path_that_names_another_file_now(tmp_path):
    """Opening by path after a rotation must not read the new file as if it were the old one."""
    path = tmp_path / "train.log"
    path.write_text("old line\n")
    key = _rotate(path, "train.log.1")
    with pytest.raises(FileNotFoundError):
        FileTailer(str(path), key, None)


def test_tailer_opens_the_file_it_was_asked_for(tmp_path):
    """The same identity opens and reads normally."""
    path = tmp_path / "train.log"
    path.write_text("a\nb\n")
    tailer = FileTailer(str(path), file_key(os.stat(path)), None)
    try:
        lines, _ = tailer.read_lines(1 << 20)
    finally:
        tailer.close()
    assert lines == ["a", "b"]


def test_renamed_sibling_finds_the_rotated_name_by_identity(tmp_path):
    """Among several rotated copies, the one holding the old inode is found."""
    path = tmp_path / "train.log"
    path.write_text("first\n")
    _rotate(path, "train.log.2")
    key = _rotate(path, "train.log.1")
    (tmp_path / "other.log").write_text("unrelated\n")
    assert renamed_sibling(str(path), key) == str(tmp_path / "train.log.1")
    assert renamed_sibling(str(path), file_key(os.stat(path))) is None
