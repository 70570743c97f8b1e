"""The files the inputs name, being read: found by glob, followed through rotation.

Plain files are tailed (rotation by rename and by copytruncate, renames while the agent
was down); rotated ``.gz`` archives are read once, past what was read of them
uncompressed. Lines read go into the ``PendingBatch``; when it is full the agent's flush
is called, which spools the batch with the positions ``snapshot_positions`` gives.
"""

from __future__ import annotations

import fnmatch
import glob
import logging
import os
import stat as stat_mode
import time
from collections.abc import Callable

from flightlog.collect.batch import PendingBatch
from flightlog.collect.config import CollectConfig, FileInput
from flightlog.collect.gz import GzReader, already_read, compressed_patterns, read_gz_head
from flightlog.collect.multiline import MultilineJoiner
from flightlog.collect.positions import (
    FilePosition,
    KnownFiles,
    describes,
    file_key,
    fingerprint_of,
)
from flightlog.collect.spool import Spool
from flightlog.collect.tailer import FileTailer, renamed_sibling, rotated_siblings

__all__ = ["TailedFiles"]

logger = logging.getLogger("flightlog.collect")

# File times come from the kernel's coarse clock, which may lag time.time_ns() by a tick.
_FS_CLOCK_SLACK_NS = 20_000_000
# A rotated copy shorter than what we compare and written to less than this long ago
# may still be being copied.
_COPY_SETTLE_NS = 1_000_000_000
# An archive is on disk already: it is read no further while this many batches wait to
# be sent, rather than copied into the (bounded, oldest-dropped) spool faster than sent.
_ARCHIVE_AHEAD_BATCHES = 4


class _Source:
    """An open file with the labels and metadata its records share."""

    __slots__ = ("input", "labels", "metadata", "path", "succeeded", "tailer")

    def __init__(self, tailer: FileTailer, item: FileInput) -> None:
        self.tailer = tailer
        self.input = item
        self.succeeded = False
        """Whether, after this file was renamed away, the file at its path was taken up."""
        # `filename` is a label, as Promtail sets it: one stream per file, and no per-entry
        # metadata to store (a rotated copy keeps the name of the file it came from).
        self.labels = {**item.labels, "filename": tailer.path}
        self.metadata: dict[str, str] = {}
        self.path = os.path.abspath(tailer.path)
        """The records' ``source``: absolute, so path_labels templates match relative globs."""


class _Archive:
    """A ``.gz`` being read, with the labels its records share."""

    __slots__ = ("labels", "path", "reader")

    def __init__(self, reader: GzReader, item: FileInput) -> None:
        self.reader = reader
        self.labels = {**item.labels, "filename": reader.stream}
        self.path = os.path.abspath(reader.stream)


class TailedFiles:
    """The open files and archives of the configured inputs, and how each is read on."""

    def __init__(
        self,
        config: CollectConfig,
        known: KnownFiles,
        batch: PendingBatch,
        spool: Spool,
        *,
        flush: Callable[[], None],
        clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._known = known
        self._batch = batch
        self._spool = spool
        self._flush = flush
        """Spools the pending batch; called when it is full before a read can go on."""
        self._clock = clock
        self._sources: dict[str, _Source] = {}
        self._archives: dict[str, _Archive] = {}
        self._first_discovery = True

    def snapshot_positions(self) -> dict[str, FilePosition]:
        """Where every known file is read to now: what the next spooled batch completes."""
        positions = self._known.positions
        for key, source in self._sources.items():
            positions[key] = source.tailer.position()
        for key, archive in self._archives.items():
            positions[key] = archive.reader.position()
        return dict(positions)

    def _excluded(self, path: str, item: FileInput) -> bool:
        name = os.path.basename(path)
        return any(fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(name, pat) for pat in item.exclude)

    @staticmethod
    def _patterns(item: FileInput) -> list[str]:
        """The input's globs; with ``read_gz``, also those of their compressed siblings."""
        if not item.read_gz:
            return list(item.paths)
        return [*item.paths, *(gz for path in item.paths for gz in compressed_patterns(path))]

    def discover(self) -> None:
        """Open files the globs match that are not open yet; read new .gz files once.

        Known files no glob matches any more are looked for under a rotated name beside
        the one they were read under (``train.log.1``): one with lines left is read to
        its end, one finished is remembered while it is there, the rest are forgotten.
        """
        seen: set[str] = set()
        matched: dict[str, FileInput] = {}
        archives: list[tuple[str, str, os.stat_result, FileInput]] = []
        for item in self._config.inputs:
            for pattern in self._patterns(item):
                for path in sorted(glob.glob(pattern, recursive=True)):
                    if self._excluded(path, item):
                        continue
                    try:
                        stat = os.stat(path)
                    except OSError:
                        continue
                    key = file_key(stat)
                    if not stat_mode.S_ISREG(stat.st_mode) or key in seen:
                        continue
                    seen.add(key)
                    if path.endswith(".gz"):
                        if item.read_gz:
                            archives.append((path, key, stat, item))
                        continue
                    matched.setdefault(path, item)
                    if key in self._sources:
                        source = self._sources[key]
                        if source.tailer.rotated_at is None:
                            self._adopt_rotated_siblings(source, self._clock())
                        continue
                    self._open(path, key, item, stat.st_size)
        self._resume_renamed(seen, matched)
        for path, key, stat, item in archives:
            self._open_archive(path, key, stat, item)
        self._first_discovery = False

    def _resume_renamed(self, seen: set[str], matched: dict[str, FileInput]) -> None:
        """Find known files no glob matched among the siblings of the name they had."""
        listings: dict[str, list[str]] = {}
        now = self._clock()
        known = self._known
        for key in [key for key in known.positions if key not in seen]:
            if key in self._sources or key in self._archives:
                continue
            position = known.positions[key]
            path = known.find_renamed(key, position, listings)
            if path is None:
                known.forget(key)
                continue
            if position.done:
                continue
            item = matched.get(position.path) or self._input_for(position.path)
            stat = FileTailer.identity(path)
            if item is None or stat is None:
                known.forget(key)
                continue
            self._open(path, key, item, stat.st_size, reopen_path=position.path)
            source = self._sources.get(key)
            if source is not None:
                source.tailer.rotated_at = now
                logger.info(
                    "%s was renamed to %s before we read it all; reading it from offset %d",
                    position.path,
                    path,
                    source.tailer.offset,
                )

    def _input_for(self, path: str) -> FileInput | None:
        """The input whose globs name ``path`` (when no file is there now to glob)."""
        for item in self._config.inputs:
            named = any(fnmatch.fnmatch(path, pattern) for pattern in item.paths)
            if named and not self._excluded(path, item):
                return item
        return None

    def _open(
        self, path: str, key: str, item: FileInput, size: int, *, reopen_path: str | None = None
    ) -> None:
        position = self._known.positions.get(key)
        if (
            position is None
            and item.start_at == "end"
            and self._first_discovery
            and reopen_path is None
            and not self._known.tailed_before(path)
        ):
            # Files that were there when we first looked start at their end; a new file
            # at a path we tailed (rotated while we were down) is read whole.
            position = FilePosition(path, size)
        joiner = MultilineJoiner(item.multiline) if item.multiline is not None else None
        moved = False
        try:
            tailer = FileTailer(path, key, position, joiner=joiner)
        except FileNotFoundError:
            # Rotated between our stat and the open: it is a sibling now.
            renamed = renamed_sibling(path, key)
            if renamed is None:
                logger.warning("%s was removed before it could be opened", path)
                return
            try:
                tailer = FileTailer(renamed, key, position, joiner=joiner)
            except OSError as exc:
                logger.warning("cannot open %s (was %s): %s", renamed, path, exc)
                return
            reopen_path = reopen_path or path
            moved = True
        except OSError as exc:
            logger.warning("cannot open %s: %s", path, exc)
            return
        if moved:
            tailer.rotated_at = self._clock()
        if position is not None and position.fingerprint_len == 0 and position.offset > size:
            tailer.offset = 0
        if reopen_path is not None:
            # A rotated copy: its lines belong to the file it was rotated from.
            tailer.path = reopen_path
        source = _Source(tailer, item)
        self._sources[key] = source
        logger.info("tailing %s from offset %d", path, tailer.offset)
        if position is not None and not tailer.resumed:
            # The inode now holds other content: its old file is gone (an archive of it
            # may turn up) or was truncated (copytruncate) while we were down, and then
            # the lines we had not read are in the rotated copy, at our old offset.
            self._known.remember_gone(key, position)
            if not position.done:
                lines, used, finished = tailer.recover_from(position)
                if used is not None and finished is not None:
                    self._known.finish(used, finished)
                    logger.info("%s was truncated while we were down; read its copy", path)
                self._feed(source, lines, [], self._clock())

    def _open_archive(self, path: str, key: str, stat: os.stat_result, item: FileInput) -> None:
        """Start reading a compressed file, past what was read of it (see gz.py).

        A position saved mid-archive (a restart) is resumed when the archive still starts
        as it did; a new archive starts past what was read of its content uncompressed.
        """
        if key in self._archives:
            return
        previous = self._known.positions.get(key)
        if previous is not None and previous.done:
            if self._known.still_there(key, path, stat, previous, head_of=read_gz_head):
                return
            self._known.drop(key)  # another archive got the inode of one we read
            previous = None
        head = read_gz_head(path)
        if head is None:
            if time.time_ns() - stat.st_mtime_ns < _COPY_SETTLE_NS:
                return  # still being compressed: look again next time
            head = b""  # corrupt from the start: read what it holds
        if previous is not None and not describes(previous, head):
            self._known.drop(key)
            previous = None
        if previous is not None:
            position = previous
        else:
            match = already_read(head, self._known_contents())
            if self._still_open(match):
                return
            stream, start = path, 0
            if match is not None:
                stream, start = match[0].path, match[0].offset
                logger.info("%s: %d bytes of it were read uncompressed; read the rest", path, start)
            position = FilePosition(
                path,
                start,
                fingerprint_of(head),
                len(head),
                stream="" if stream == path else stream,
            )
        joiner = MultilineJoiner(item.multiline) if item.multiline is not None else None
        try:
            reader = GzReader(path, key, position, joiner=joiner)
        except OSError as exc:
            logger.warning("cannot read %s: %s", path, exc)
            return
        self._archives[key] = _Archive(reader, item)
        logger.info("reading %s from decompressed offset %d", path, reader.offset)

    def _poll_archives(self) -> int:
        """Read on in each open archive, a batch at most each; returns how many lines."""
        total = 0
        for key, archive in list(self._archives.items()):
            if self._spool.pending() >= _ARCHIVE_AHEAD_BATCHES:
                break  # the shipper is behind: the archive waits on disk, not in the spool
            reader = archive.reader
            flushed = False
            lines: list[str] = []
            while True:
                if self._batch.full():
                    if flushed:
                        break
                    self._flush()
                    flushed = True
                lines, offsets = reader.read_lines(self._batch.room_bytes(), over=self._batch.empty)
                if not lines:
                    if not reader.waiting or flushed:
                        break
                    self._flush()  # the next line does not fit: send what we have
                    flushed = True
                    continue
                total += len(lines)
                self._feed_archive(archive, lines, offsets)
            if not reader.ended or lines:
                continue
            if reader.settling(time.time_ns(), _COPY_SETTLE_NS):
                # Broke off while still being written: keep what we shipped, look again.
                self._known.set(key, reader.position())
                reader.close()
                del self._archives[key]
                continue
            self._feed_archive(archive, reader.take_rest(), None)
            joiner = reader.joiner
            if joiner is not None:
                entry = joiner.flush()
                if entry is not None:
                    self._batch.emit([entry], archive.labels, {}, archive.path)
            self._known.finish(key, reader.position(done=True))
            reader.close()
            del self._archives[key]
            logger.info("finished archive %s", reader.path)
        return total

    def _feed_archive(self, archive: _Archive, lines: list[str], offsets: list[int] | None) -> None:
        joiner = archive.reader.joiner
        if joiner is None or not lines:
            self._batch.emit(lines, archive.labels, {}, archive.path)
            return
        entries: list[str] = []
        for index, line in enumerate(lines):
            entries.extend(joiner.feed(line, offsets[index] if offsets else 0, 0.0))
        self._batch.emit(entries, archive.labels, {}, archive.path)

    @staticmethod
    def _still_open(match: tuple[FilePosition, bool] | None) -> bool:
        """Whether an archive's content is a file we are still reading: then it is looked
        at again once that file is finished (or, after a restart, forgotten)."""
        return match is not None and match[1]

    def _known_contents(self) -> list[tuple[FilePosition, bool]]:
        """Every file whose content we read or are reading, and whether it is still open."""
        known = [(source.tailer.position(), True) for source in self._sources.values()]
        known.extend((archive.reader.position(), True) for archive in self._archives.values())
        known.extend((position, False) for position in self._known.read_contents())
        return known

    def _check_rotation(self, source: _Source, now: float) -> None:
        tailer = source.tailer
        if tailer.rotated_at is not None:
            if not source.succeeded:
                self._follow_successors(source, now)
            return
        current = FileTailer.identity(tailer.path)
        if current is None or file_key(current) != tailer.key:
            # Renamed away: keep reading it until quiet; files that were at the path
            # since we last looked (fast rotations) are read too, then the new file.
            tailer.rotated_at = now
            self._follow_successors(source, now)
            return
        if tailer.truncated():
            lines, used, finished = tailer.recover_truncated()
            if used is not None and finished is not None:
                self._known.finish(used, finished)
            self._feed(source, lines, [], now)
            self._adopt_rotated_siblings(source, now)
            logger.info("%s was truncated (copytruncate); reading it from the start", tailer.path)

    def _follow_successors(self, source: _Source, now: float) -> None:
        """Take up the files that came to a renamed file's path: the one there now, and
        any that came and were renamed away in turn since we last looked.

        The path is looked at before the siblings, so a file renamed away after that
        look is among the siblings; the looks go on each poll until a file at the path
        was taken up before a look at the siblings (the path may be empty for a moment).
        """
        path = source.tailer.path
        current = FileTailer.identity(path)
        taken_up = False
        if current is not None:
            key = file_key(current)
            if not self._is_known(key, path):
                self._open(path, key, source.input, current.st_size)
            taken_up = self._is_known(key, path)
        self._adopt_rotated_siblings(source, now)
        source.succeeded = taken_up

    def _is_known(self, key: str, path: str) -> bool:
        """Whether the file at ``path`` (identity ``key``) is open or was read to its end."""
        return key in self._sources or self._known.finished(key, path)

    def _adopt_rotated_siblings(self, source: _Source, now: float) -> None:
        """Open rotated copies of a file (``name.1``, ``name-2024...``) made since we last looked.

        A file can be rotated more than once between two looks (or before the first), so
        every copy that appeared since the last scan and is not one we read is read whole;
        a copy of what the file holds now is left alone (its lines are read from the file,
        or recovered from the copy at our offset when the truncation is seen).
        """
        tailer = source.tailer
        path = tailer.path
        since_ns = tailer.scanned_ns - _FS_CLOCK_SLACK_NS
        scan_started_ns = time.time_ns()
        deferred = False
        head: bytes | None = None
        for sibling in rotated_siblings(path):
            stat = FileTailer.identity(sibling)
            if stat is None or stat.st_ctime_ns < since_ns:
                continue
            key = file_key(stat)
            if self._is_known(key, sibling):
                continue
            if tailer.rotated_at is None:
                if head is None:
                    head = tailer.current_head()
                try:
                    with open(sibling, "rb") as handle:
                        sibling_head = handle.read(max(len(head), tailer.fingerprint_len))
                except OSError:
                    continue
                need = max(1, len(head), tailer.fingerprint_len)
                if (
                    len(sibling_head) < need
                    and scan_started_ns - stat.st_mtime_ns < _COPY_SETTLE_NS
                ):
                    # Maybe a copy still being written (copytruncate): too short to tell
                    # whose content it is. Look again next time.
                    deferred = True
                    continue
                if head and sibling_head[: len(head)] == head:
                    # A copy of what the file holds now. If we have read none of it, the
                    # file may be truncated before we do: look again next time.
                    deferred = deferred or not tailer.fingerprint_len
                    continue
                if tailer.fingerprint_len and tailer.fingerprint == fingerprint_of(
                    sibling_head[: tailer.fingerprint_len]
                ):
                    continue  # a copy of what we were reading: recovered at our offset
            self._open(sibling, key, source.input, stat.st_size, reopen_path=path)
            adopted = self._sources.get(key)
            if adopted is not None:
                adopted.tailer.rotated_at = now
        if not deferred:
            tailer.scanned_ns = scan_started_ns

    def _feed(self, source: _Source, lines: list[str], offsets: list[int], now: float) -> None:
        joiner = source.tailer.joiner
        if joiner is None:
            self._batch.emit(lines, source.labels, source.metadata, source.path)
            return
        entries: list[str] = []
        if offsets:
            for line, offset in zip(lines, offsets, strict=True):
                entries.extend(joiner.feed(line, offset, now))
        else:
            # Recovered lines of a truncated file: their offsets are gone, and so is the
            # position they would hold back; join them and close the entry.
            for line in lines:
                entries.extend(joiner.feed(line, 0, now))
            last = joiner.flush()
            if last is not None:
                entries.append(last)
        self._batch.emit(entries, source.labels, source.metadata, source.path)

    def poll(self) -> int:
        """One pass over every open file; returns how many lines were read."""
        now = self._clock()
        total = 0
        for key, source in list(self._sources.items()):
            tailer = source.tailer
            self._check_rotation(source, now)
            while True:
                if self._batch.full():
                    self._flush()
                lines, offsets = tailer.read_lines(self._batch.room_bytes())
                if not lines:
                    break
                tailer.last_data_at = now
                total += len(lines)
                self._feed(source, lines, offsets, now)
            joiner = tailer.joiner
            if joiner is not None:
                entry = joiner.flush_if_idle(now)
                if entry is not None:
                    self._batch.emit([entry], source.labels, source.metadata, source.path)
            if (
                tailer.rotated_at is not None
                and now - max(tailer.rotated_at, tailer.last_data_at)
                >= self._config.rotate_wait_secs
            ):
                if joiner is not None:
                    entry = joiner.flush()
                    if entry is not None:
                        self._batch.emit([entry], source.labels, source.metadata, source.path)
                self._known.finish(key, tailer.position())
                tailer.close()
                del self._sources[key]
                logger.info("finished rotated file %s", tailer.path)
        return total + self._poll_archives()

    def close(self) -> None:
        """Close every open file and archive."""
        for source in self._sources.values():
            source.tailer.close()
        for archive in self._archives.values():
            archive.reader.close()
