"""One cached object on disk: a checksummed pickle (protocol 5) whose large buffers are memory-mapped.

Layout: MAGIC, a 32-byte BLAKE2b digest of everything after it, the header length (8 bytes), the
header (key, pickle length, buffer lengths), then the pickle and each out-of-band buffer (numpy
arrays), each aligned to 64 bytes. Reading checks the digest and the key before unpickling, so a
truncated, garbled or foreign file is refused (DamagedCache) rather than half-trusted. Writing goes
to a temporary file in the same folder and os.replace()s it: concurrent writers never interleave,
and readers see the old file or the new one, never a mixture.
"""

from __future__ import annotations

import gc
import hashlib
import mmap
import os
import pickle
import struct
from pathlib import Path
from typing import Any

MAGIC = b"legalbot cache 1\n"
TEMP_PREFIX = ".writing-"
_DIGEST = 32
_ALIGN = 64
_LENGTH = struct.Struct("<Q")


class DamagedCache(Exception):
    """A cache file that exists but cannot be trusted; the caller rebuilds it."""


class ForeignCache(DamagedCache):
    """A sound cache file written under another key (another code version): not this one's."""


def _padding(offset: int) -> int:
    return -offset % _ALIGN


def write(path: Path, key: str, obj: Any) -> None:
    """Pickle `obj` under `key` to `path`, atomically (temp file + os.replace)."""
    buffers: list[pickle.PickleBuffer] = []
    payload = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    header = pickle.dumps((key, len(payload), [r.nbytes for r in raws]), protocol=5)
    parts: list[bytes | memoryview] = [_LENGTH.pack(len(header)), header]
    offset = len(MAGIC) + _DIGEST + sum(len(p) for p in parts)
    for chunk in (payload, *raws):
        pad = _padding(offset)
        parts += [b"\0" * pad, chunk]
        offset += pad + len(chunk) if isinstance(chunk, bytes) else pad + chunk.nbytes
    digest = hashlib.blake2b(digest_size=_DIGEST)
    for part in parts:
        digest.update(part)
    import tempfile  # here, not at the top: a process that only reads its cache (`legalbot ask`) never needs it

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC)
            out.write(digest.digest())
            for part in parts:
                out.write(part)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read(path: Path, key: str) -> Any:
    """The object stored at `path` under `key`; FileNotFoundError if there is none, DamagedCache if
    it cannot be trusted. Buffers stay memory-mapped: numpy arrays in it are read-only views."""
    with path.open("rb") as source:
        try:
            mapped = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as exc:  # an empty file cannot be mapped
            raise DamagedCache(f"empty file ({exc})") from None
    view = memoryview(mapped)
    start = len(MAGIC) + _DIGEST
    if len(view) < start + _LENGTH.size or view[: len(MAGIC)] != MAGIC:
        raise DamagedCache("not a legalbot cache file, or cut short")
    if hashlib.blake2b(view[start:], digest_size=_DIGEST).digest() != view[len(MAGIC): start]:
        raise DamagedCache("checksum mismatch (cut short or garbled)")
    (header_length,) = _LENGTH.unpack_from(view, start)
    offset = start + _LENGTH.size
    try:
        stored_key, payload_length, lengths = pickle.loads(view[offset: offset + header_length])
    except Exception as exc:
        raise DamagedCache(f"unreadable header ({type(exc).__name__})") from None
    if stored_key != key:
        raise ForeignCache("written for another catalogue or code version")
    offset += header_length
    spans = []
    for length in (payload_length, *lengths):
        offset += _padding(offset)
        spans.append(view[offset: offset + length])
        offset += length
    was_enabled = gc.isenabled()
    gc.disable()  # unpickling 100,000 rows makes many objects and no garbage: collecting only slows it
    try:
        return pickle.loads(spans[0], buffers=spans[1:])
    except Exception as exc:
        raise DamagedCache(f"cannot unpickle ({type(exc).__name__}: {exc})") from None
    finally:
        if was_enabled:
            gc.enable()
