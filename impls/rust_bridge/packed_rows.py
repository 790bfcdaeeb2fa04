"""A stream's output records packed back to back in one `bytes`, with where each one ends.

How the bridge hands a stream over (protocol 4, docs/bridge.md): the
stream's bytes are copied out of the shared memory once and its records' ends come as an array,
like a column of Arrow binary values. A record's own `bytes` object is made when a consumer reads
it (verification, a Kafka producer), not while the batch is timed: making ~1,700 objects a
batch cost the parent about as much again as copying the 2.3 MB they hold (docs/bridge.md).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import overload

try:  # one C loop over the ends (_wire.pyx); the same check in Python otherwise
    from impls.rust_bridge._wire import ends_problem as _ends_problem
except ImportError:
    _ends_problem = None


def _ends_problem_py(ends: array, size: int) -> str | None:
    start = 0
    for i, end in enumerate(ends):
        if end < start:
            return f"record {i} ends at {end}, before it starts ({start})"
        start = end
    if start != size:
        return f"the records' ends stop at {start}, the data is {size} bytes"
    return None


class PackedRows(Sequence[bytes]):
    """A read-only sequence of records: `data[ends[i-1]:ends[i]]` (from 0 for the first)."""

    __slots__ = ("data", "ends")

    def __init__(self, data: bytes, ends: array) -> None:
        self.data = data
        self.ends = ends

    @classmethod
    def from_wire(cls, data: bytes, ends: bytes) -> PackedRows:
        """From the records' bytes and their ends as u32 little-endian; ValueError when the ends
        do not cut `data` into consecutive records that cover it exactly."""
        if len(ends) % 4:
            raise ValueError(f"record ends of {len(ends)} bytes, not a whole number of u32")
        table = array("I")
        table.frombytes(ends)
        if sys.byteorder == "big":
            table.byteswap()
        check = _ends_problem or _ends_problem_py
        problem = check(table, len(data))
        if problem is not None:
            raise ValueError(problem)
        return cls(data, table)

    def __len__(self) -> int:
        return len(self.ends)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self.ends)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("record index out of range")
        start = self.ends[index - 1] if index else 0
        return self.data[start : self.ends[index]]

    def __iter__(self) -> Iterator[bytes]:
        return map(self.data.__getitem__, map(slice, chain((0,), self.ends), self.ends))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes, bytearray)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which are unhashable

    def __repr__(self) -> str:
        return f"PackedRows({len(self)} records, {len(self.data)} bytes)"
