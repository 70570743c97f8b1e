import datetime
from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers

DESCRIPTOR: _descriptor.FileDescriptor

class PushRequest(_message.Message):
    __slots__ = ("streams",)
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    streams: _containers.RepeatedCompositeFieldContainer[StreamAdapter]
    def __init__(self, streams: _Iterable[StreamAdapter | _Mapping] | None = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamAdapter(_message.Message):
    __slots__ = ("entries", "hash", "labels")
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    labels: str
    entries: _containers.RepeatedCompositeFieldContainer[EntryAdapter]
    hash: int
    def __init__(
        self,
        labels: str | None = ...,
        entries: _Iterable[EntryAdapter | _Mapping] | None = ...,
        hash: int | None = ...,
    ) -> None: ...

class LabelPairAdapter(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: str | None = ..., value: str | None = ...) -> None: ...

class EntryAdapter(_message.Message):
    __slots__ = ("line", "parsed", "structuredMetadata", "timestamp")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    STRUCTUREDMETADATA_FIELD_NUMBER: _ClassVar[int]
    PARSED_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    line: str
    structuredMetadata: _containers.RepeatedCompositeFieldContainer[LabelPairAdapter]
    parsed: _containers.RepeatedCompositeFieldContainer[LabelPairAdapter]
    def __init__(
        self,
        timestamp: datetime.datetime | _timestamp_pb2.Timestamp | _Mapping | None = ...,
        line: str | None = ...,
        structuredMetadata: _Iterable[LabelPairAdapter | _Mapping] | None = ...,
        parsed: _Iterable[LabelPairAdapter | _Mapping] | None = ...,
    ) -> None: ...
