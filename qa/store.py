"""A single-file container of named numpy arrays plus a JSON header, memory-mapped on load.

Why not pickle or ``.npz``: a mapped file loads in milliseconds whatever its size, gunicorn
workers share its pages through the OS page cache instead of each holding a copy, and a header
with sizes and a checksum lets a truncated or corrupt file be detected before anything is
answered from it.

Layout::

    b"QAINDEX1"            8 bytes magic
    header length          8 bytes, little-endian
    header                 UTF-8 JSON: format, arrays {name: {dtype, shape, offset}}, payload size,
                           CRC-32 of the payload, and whatever metadata the caller adds
    payload                the arrays, each aligned to 64 bytes

Writes are atomic: a temporary file in the same folder is written, flushed to disk and then
renamed over the target, so readers see either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

MAGIC = b"QAINDEX1"
_ALIGN = 64


class StoreError(Exception):
    """The file is missing, truncated, corrupt or of another format."""


def write_store(path: Path, arrays: dict[str, np.ndarray], header: dict) -> None:
    """Atomically write ``arrays`` and ``header`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout: dict[str, dict] = {}
    offset = 0
    crc = 0
    blobs: list[tuple[int, bytes | memoryview]] = []
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        offset = (offset + _ALIGN - 1) // _ALIGN * _ALIGN
        layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset}
        data = memoryview(array).cast("B") if array.size else b""
        blobs.append((offset, data))
        offset += array.nbytes
    payload_size = offset
    full_header = dict(header, arrays=layout, payload_size=payload_size)
    # The checksum covers the payload exactly as laid out (padding included).
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            placeholder = json.dumps(dict(full_header, payload_crc32=0)).encode()
            # Reserve room for the final header (the CRC changes its length by a few digits).
            header_room = len(placeholder) + 32
            tmp.write(MAGIC + struct.pack("<Q", header_room) + b" " * header_room)
            base = tmp.tell()
            position = 0
            for blob_offset, data in blobs:
                if blob_offset > position:
                    pad = b"\0" * (blob_offset - position)
                    tmp.write(pad)
                    crc = zlib.crc32(pad, crc)
                tmp.write(data)
                crc = zlib.crc32(data, crc)
                position = blob_offset + len(data)
            final = json.dumps(dict(full_header, payload_crc32=crc)).encode()
            tmp.seek(len(MAGIC) + 8)
            tmp.write(final.ljust(header_room))
            tmp.seek(base + payload_size)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; service workers may run as another user
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: some filesystems refuse)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step (temp file in the same folder, then rename),
    keeping the old file's permissions."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


class Store:
    """A loaded container: ``store.header`` (dict) and ``store[name]`` (read-only numpy arrays)."""

    def __init__(self, path: Path, verify: bool = True) -> None:
        self.path = Path(path)
        try:
            with open(self.path, "rb") as fh:
                stat = os.fstat(fh.fileno())
                if stat.st_size < len(MAGIC) + 8:
                    raise StoreError(f"{self.path} is truncated ({stat.st_size} bytes).")
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except FileNotFoundError as exc:
            raise StoreError(f"{self.path} does not exist.") from exc
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.path} cannot be read: {exc}") from exc
        self.identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._map[: len(MAGIC)] != MAGIC:
            raise StoreError(f"{self.path} is not a qa index file (or is from an incompatible version).")
        (header_len,) = struct.unpack("<Q", self._map[len(MAGIC) : len(MAGIC) + 8])
        base = len(MAGIC) + 8 + header_len
        if header_len > stat.st_size:
            raise StoreError(f"{self.path} is truncated (header cut short).")
        try:
            self.header = json.loads(bytes(self._map[len(MAGIC) + 8 : base]).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(f"{self.path} has a corrupt header: {exc}") from exc
        payload_size = int(self.header.get("payload_size", -1))
        if stat.st_size != base + payload_size:
            raise StoreError(
                f"{self.path} is truncated or padded: {stat.st_size} bytes, expected {base + payload_size}."
            )
        if verify and zlib.crc32(memoryview(self._map)[base:]) != self.header.get("payload_crc32"):
            raise StoreError(f"{self.path} is corrupt (checksum mismatch).")
        self._base = base
        self._arrays: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None:
            spec = self.header["arrays"][name]
            dtype = np.dtype(spec["dtype"])
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            array = np.frombuffer(self._map, dtype=dtype, count=count, offset=self._base + spec["offset"])
            array = array.reshape(spec["shape"])
            self._arrays[name] = array
        return array

    def __contains__(self, name: str) -> bool:
        return name in self.header.get("arrays", {})


class StringTable:
    """Many strings in two arrays (UTF-8 bytes and offsets), decoded one at a time on access.

    Sorted tables support ``bisect``-based lookup with :meth:`find` without building a dict, which
    keeps a worker's memory flat however large the vocabulary.
    """

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self._blob = blob
        self._offsets = offsets

    @staticmethod
    def pack(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encoded = [s.encode("utf-8") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: int) -> str:
        if i < 0:
            i += len(self)
        return self._blob[self._offsets[i] : self._offsets[i + 1]].tobytes().decode("utf-8")

    def find(self, s: str) -> int:
        """Index of ``s`` in a sorted table, or -1."""
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self[mid] < s:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self) and self[lo] == s else -1
