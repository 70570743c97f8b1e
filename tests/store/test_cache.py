from flightlog.store._cache import SegmentCache
from flightlog.store._segment import SegmentMeta


def _segment(segment_id: int) -> SegmentMeta:
    return SegmentMeta(
        tenant="t",
        path=f"segments/t/{segment_id}.parquet",
        min_ts=0,
        max_ts=1,
        rows=1,
        bytes=1,
        line_bytes=1,
        created_ns=0,
        streams={},
        bloom=b"",
        id=segment_id,
    )


def test_segment_cache_is_bounded() -> None:
    """The cache drops least recently used values beyond its byte budget."""
    loads: list[int] = []

    def load(segment: SegmentMeta) -> bytes:
        loads.append(segment.id)
        return bytes(100)

    cache: SegmentCache[bytes] = SegmentCache(load, len, max_bytes=250)
    for segment_id in (1, 2, 1, 3, 1, 2):
        assert cache.get(_segment(segment_id)) == bytes(100)
    assert loads == [1, 2, 3, 2]


def test_segment_cache_counts_sizes_with_size_of() -> None:
    """Values are weighed by ``size_of``, not by ``len``: two that weigh 200 do not fit in 250."""
    loads: list[int] = []

    def load(segment: SegmentMeta) -> str:
        loads.append(segment.id)
        return "x"

    cache: SegmentCache[str] = SegmentCache(load, lambda value: 200, max_bytes=250)
    for segment_id in (1, 2, 1):
        cache.get(_segment(segment_id))
    assert loads == [1, 2, 1]
