"""Zip archives from untrusted files (checkpoints, `.keras` models), checked before a byte of them
is unpacked: the end record and directory are bounded before they are parsed, and every entry
is held against its local header (name, method, sizes), inside the file, overlapping nothing."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

ZIP_MAGIC = b"PK\x03\x04"
MAX_ENTRIES = 4096
# What torch.save writes into its zip archive (torch 1.6-2.14), under one folder named after the
# file: the pickle, its storages data/0, data/1, ... and a few small records, all stored.
TORCH_ENTRIES = re.compile(
    r"[^/]+/(data\.pkl|data/\d+|\.format_version|\.storage_alignment|byteorder|version"
    r"|\.data/serialization_id|\.data/version)"
)
# This project's checkpoints are about 0.4 MB (wide networks a few MB); a larger file is refused
# before it is read. A fork with bigger networks raises it here.
MAX_CHECKPOINT_BYTES = 1 << 30
_END = struct.Struct("<4s4H2LH")  # end of central directory
_ZIP64_LOCATOR, _ZIP64_END = struct.Struct("<4sLQL"), struct.Struct("<4sQ2H2L4Q")
_LOCAL = struct.Struct("<4s5H3L2H")


class ArchiveError(ValueError):
    """A zip archive that is damaged, or not what its writer produces."""


class NotAnArchiveError(ArchiveError):
    """A file that is not a zip archive at all."""


def check_archive(path: str | Path, key: str = "ckpt_path") -> bytes:
    """The bytes of checkpoint `path` (named by setting `key`) if it is the zip archive
    torch.save writes; else refused, before torch.load reads any of it."""
    try:
        return read_zip(path, TORCH_ENTRIES, MAX_CHECKPOINT_BYTES)
    except NotAnArchiveError as err:
        raise NotAnArchiveError(
            f"{key}={err}, so not a checkpoint: train.py writes .ckpt files as the zip "
            f"archives of torch.save (a file from torch < 1.6 is not read either)."
        ) from None
    except ArchiveError as err:
        raise ArchiveError(f"{key}={err}. Nothing in it was loaded.") from None


def read_zip(path: str | Path, names: re.Pattern[str], max_total: int) -> bytes:
    """The bytes of an archive whose writer stores every entry, after `check_zip`: read once,
    so whoever unpacks them gets exactly the bytes that were checked."""
    path = Path(path)
    with path.open("rb") as f:
        if f.read(4) != ZIP_MAGIC:
            raise NotAnArchiveError(f"{path}: not a zip archive")
        # Stored entries take their own size; headers and directory about 200 bytes each.
        if (size := path.stat().st_size) > max_total + 256 * MAX_ENTRIES:
            raise ArchiveError(f"{path}: {size:,} bytes, over the limit of {max_total:,}")
        data = ZIP_MAGIC + f.read()
    check_zip(path, names, max_total, stored_only=True, data=data)
    return data


def check_zip(
    path: str | Path,
    names: re.Pattern[str],
    max_total: int,
    stored_only: bool,
    max_entries: int = MAX_ENTRIES,
    data: bytes | None = None,
) -> list[zipfile.ZipInfo]:
    """The entries of archive `path` (or its bytes `data`), each named to match `names`, all
    unpacking to at most `max_total` bytes; else ArchiveError naming the file and the fault."""
    path = Path(path)
    size = len(data) if data is not None else path.stat().st_size
    with io.BytesIO(data) if data is not None else path.open("rb") as f:
        if f.read(4) != ZIP_MAGIC:
            raise NotAnArchiveError(f"{path}: not a zip archive")
        count, directory = _directory(f, size, path, max_entries)
        try:
            entries = zipfile.ZipFile(f).infolist()  # bounded now: parse it
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
            raise ArchiveError(f"{path}: a damaged zip directory ({err})") from err
        if len(entries) != count:
            raise ArchiveError(f"{path}: its end record counts {count} entries, not {len(entries)}")
        spans = sorted(_span(f, entry, names, stored_only, size, path) for entry in entries)
    end, previous = 0, None
    for start, stop, name in [*spans, (directory, directory, "the zip directory")]:
        if start < end:  # how small zips unpack into huge ones without compression tricks
            raise ArchiveError(f"{path}: entries {previous!r} and {name!r} overlap")
        end, previous = stop, name
    if len({entry.filename for entry in entries}) != len(entries):
        raise ArchiveError(f"{path}: two entries share a name")
    if (total := sum(entry.file_size for entry in entries)) > max_total:
        raise ArchiveError(f"{path}: unpacks to {total:,} bytes, over the limit of {max_total:,}")
    return entries


def _directory(f: BinaryIO, size: int, path: Path, max_entries: int) -> tuple[int, int]:
    """(entry count, directory offset) from the end record (or zip64's), bounded."""
    tail_at = max(0, size - _END.size - 0xFFFF)  # the end record, after a comment of ≤ 64 kB
    f.seek(tail_at)
    tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        raise ArchiveError(f"{path}: truncated or damaged (no zip end record)")
    *_, count, directory_size, directory, _ = _END.unpack_from(tail, at)
    end = tail_at + at
    if count == 0xFFFF or 0xFFFFFFFF in (directory_size, directory):
        f.seek(max(0, end - _ZIP64_LOCATOR.size))
        locator = f.read(_ZIP64_LOCATOR.size)
        record_at = _ZIP64_LOCATOR.unpack(locator)[2] if locator[:4] == b"PK\x06\x07" else end
        f.seek(record_at)
        record = f.read(_ZIP64_END.size)
        if record_at + _ZIP64_END.size > end or record[:4] != b"PK\x06\x06":
            raise ArchiveError(f"{path}: zip64 sizes without a whole zip64 end record")
        count, directory_size, directory = _ZIP64_END.unpack(record)[7:10]
    if count > max_entries:
        raise ArchiveError(f"{path}: {count:,} entries, over the limit of {max_entries:,}")
    if directory + directory_size > end:
        raise ArchiveError(f"{path}: its zip directory lies beyond the end of the file")
    return count, directory


def _span(
    f: BinaryIO, entry: zipfile.ZipInfo, names: re.Pattern[str], stored_only: bool, size: int,
    path: Path,
) -> tuple[int, int, str]:  # fmt: skip
    """The bytes (local header to end of data) of one entry, after checking it."""
    name, where = entry.filename, f"{path}: entry {entry.filename!r}"
    if not names.fullmatch(name):
        raise ArchiveError(f"{path}: an entry its writer never makes: {name!r}")
    if entry.flag_bits & 0x1:
        raise ArchiveError(f"{where} is encrypted")
    if entry.compress_type == zipfile.ZIP_STORED and entry.compress_size != entry.file_size:
        raise ArchiveError(
            f"{where} is stored, yet its sizes differ ({entry.compress_size:,} in the file, "
            f"{entry.file_size:,} unpacked)"
        )
    if entry.compress_type != zipfile.ZIP_STORED and (
        stored_only or entry.compress_type != zipfile.ZIP_DEFLATED
    ):
        raise ArchiveError(
            f"{where} is compressed (zip method {entry.compress_type}); its writer stores every "
            f"entry uncompressed, and a compressed one can unpack far beyond the file's size "
            f"(a zip bomb)"
        )
    if entry.compress_size > size:
        raise ArchiveError(f"{where} claims more bytes than the file holds")
    f.seek(entry.header_offset)
    header = f.read(_LOCAL.size)
    if len(header) < _LOCAL.size or header[:4] != ZIP_MAGIC:
        raise ArchiveError(f"{where} has no local header where the directory says")
    _, _, flags, method, _, _, _, packed, unpacked, name_size, extra_size = _LOCAL.unpack(header)
    local_name = f.read(name_size).decode("utf-8" if flags & 0x800 else "cp437", "replace")
    sizes = (packed, unpacked)
    agree = sizes in ((entry.compress_size, entry.file_size), (0xFFFFFFFF,) * 2) or (
        flags & 0x08 and sizes == (0, 0)  # bit 3: the sizes follow the data
    )
    if local_name != name or method != entry.compress_type or not agree:
        raise ArchiveError(f"{where}: its local header disagrees with the zip directory")
    end = entry.header_offset + _LOCAL.size + name_size + extra_size + entry.compress_size
    if end > size:
        raise ArchiveError(f"{where} runs past the end of the file")
    return entry.header_offset, end, name
