"""Canonical bytes assembled record by record: a certificate of thousands of subjects.

A certificate of a 10,000-file tree lists 10,000 subjects. Serializing it as one value
built a dictionary of the whole certificate next to the model and the bytes, and reading
it back before signing parsed the whole payload again: most of a tree run's peak memory.
RFC 8785 is compositional (an array is its items' canonical forms joined by commas, an
object its members sorted by name), so the bytes are the same when each record is
serialized on its own and written where it belongs, and a record can be read back from
its own bytes (``Assembled.item``) while the rest of the document is read from the
bytes with those arrays left empty (``Assembled.head``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from expunge.certificates._strict import canonical_form, whole_floats_as_ints
from expunge.core.errors import IntegrityError


class Record(Protocol):
    """Anything with a JSON form: the items of an assembled array."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        ...


def _canonical(value: Any) -> bytes:
    # In a list, so that a whole float at the top is made an int too, as it is in a document.
    return canonical_form(whole_floats_as_ints([value]))[1:-1]


@dataclass(frozen=True)
class Assembled:
    """RFC 8785 bytes of an object, and where each item of its assembled arrays lies."""

    data: bytes
    items: Mapping[str, tuple[tuple[int, int], ...]]
    """Per assembled array, the byte range of each of its items in ``data``."""
    contents: Mapping[str, tuple[int, int]]
    """Per assembled array, the byte range between its brackets."""

    def item(self, name: str, index: int) -> bytes:
        """The canonical bytes of item ``index`` of the array ``name``."""
        start, end = self.items[name][index]
        return self.data[start:end]

    def head(self) -> bytes:
        """The bytes with every assembled array emptied (``[]``): the rest of the object."""
        pieces, last = [], 0
        for start, end in sorted(self.contents.values()):
            pieces.append(self.data[last:start])
            last = end
        pieces.append(self.data[last:])
        return b"".join(pieces)


def assemble(members: Mapping[str, Any], arrays: Mapping[str, Iterable[Record]]) -> Assembled:
    """The RFC 8785 bytes of the object with ``members`` (JSON values) and ``arrays``
    (records, each serialized from its ``to_dict`` when its turn comes).

    Member names must be ASCII: RFC 8785 orders names by UTF-16 code units, which is the
    order of Python's strings for those only.
    """
    names = sorted([*members, *arrays])
    if len(set(names)) != len(names) or not all(name.isascii() for name in names):
        raise IntegrityError("cannot assemble an object whose member names repeat or are not ASCII")
    out = io.BytesIO()  # its getvalue() hands over its buffer: the bytes are not copied
    items: dict[str, tuple[tuple[int, int], ...]] = {}
    contents: dict[str, tuple[int, int]] = {}
    out.write(b"{")
    for number, name in enumerate(names):
        out.write(b"," if number else b"")
        out.write(_canonical(name) + b":")
        if name not in arrays:
            out.write(_canonical(members[name]))
            continue
        out.write(b"[")
        start = out.tell()
        ranges = []
        for index, record in enumerate(arrays[name]):
            out.write(b"," if index else b"")
            begin = out.tell()
            out.write(_canonical(record.to_dict()))
            ranges.append((begin, out.tell()))
        items[name] = tuple(ranges)
        contents[name] = (start, out.tell())
        out.write(b"]")
    out.write(b"}")
    return Assembled(out.getvalue(), items, contents)
