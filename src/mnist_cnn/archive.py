"""Zip archives from untrusted files (checkpoints, `.keras` models), checked before a byte of them
is inflated or unpickled: a small file must never unpack into more memory than it is large.

`check_zip` reads the end record and the directory itself (bounded before they are parsed), then
holds every entry's local header against the directory: names the writer uses, no duplicates,
no encryption, stored (uncompressed) where the writer never compresses, sizes no larger than
the file, entries that do not overlap, and a bounded total and count.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from pathlib import Path

ZIP_MAGIC = b"PK\x03\x04"
# End of central directory, and the zip64 locator that precedes it in zip64 archives.
_END = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_LOCAL = struct.Struct("<4s5H3L2H")
_MAX_COMMENT = 0xFFFF
MAX_ENTRIES = 4096
_DATA_DESCRIPTOR = 0x08  # flag bit 3: sizes follow the data instead of the local header
_ENCRYPTED = 0x01


class ArchiveError(ValueError):
    """A zip archive that is damaged, or not what its writer produces."""


class NotAnArchiveError(ArchiveError):
    """A file that is not a zip archive at all."""


def read_zip(path: str | Path, names: re.Pattern[str], max_total: int) -> bytes:
    """The bytes of an archive whose writer stores every entry, checked by `check_zip`. Read
    once, so that whoever unpacks them gets exactly the bytes that were checked."""
    path = Path(path)
    with path.open("rb") as f:
        if f.read(4) != ZIP_MAGIC:
            raise NotAnArchiveError(f"{path}: not a zip archive")
        # Stored entries are no larger in the file than unpacked; headers and directory add
        # about 200 bytes an entry.
        size = path.stat().st_size
        if size > max_total + 256 * MAX_ENTRIES:
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
    """The entries of the zip archive `path` (or of its bytes `data`, already read), or
    ArchiveError naming the file and the fault.

    Every entry name must match `names` (fullmatch); `max_total` bounds the unpacked bytes of
    all entries together; `stored_only` refuses compressed entries.
    """
    path = Path(path)
    size = len(data) if data is not None else path.stat().st_size
    with io.BytesIO(data) if data is not None else path.open("rb") as f:
        if f.read(4) != ZIP_MAGIC:
            raise NotAnArchiveError(f"{path}: not a zip archive")
        count, directory_start = _directory(f, size, path, max_entries)
        try:
            entries = zipfile.ZipFile(f).infolist()  # the directory is bounded: parse it
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
            raise ArchiveError(f"{path}: a damaged zip directory ({err})") from err
        if len(entries) != count:
            raise ArchiveError(f"{path}: its end record counts {count} entries, not {len(entries)}")
        spans = [_check_entry(f, entry, names, stored_only, size, path) for entry in entries]
    _check_spans(sorted(spans), directory_start, path)
    if len({entry.filename for entry in entries}) != len(entries):
        raise ArchiveError(f"{path}: two entries share a name")
    total = sum(entry.file_size for entry in entries)
    if total > max_total:
        raise ArchiveError(f"{path}: unpacks to {total:,} bytes, over the limit of {max_total:,}")
    return entries


def _directory(f, size: int, path: Path, max_entries: int) -> tuple[int, int]:
    """(entry count, directory offset) from the end record, checked before the directory is read."""
    tail_size = min(size, _END.size + _MAX_COMMENT)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        raise ArchiveError(f"{path}: truncated or damaged (no zip end record)")
    _, _, _, _, count, directory_size, directory_start, _ = _END.unpack_from(tail, at)
    end_offset = size - tail_size + at
    if count == 0xFFFF or 0xFFFFFFFF in (directory_size, directory_start):
        count, directory_size, directory_start = _zip64_directory(f, end_offset, path)
    if count > max_entries:
        raise ArchiveError(f"{path}: {count:,} entries, over the limit of {max_entries:,}")
    if directory_start + directory_size > end_offset:
        raise ArchiveError(f"{path}: its zip directory lies beyond the end of the file")
    return count, directory_start


def _zip64_directory(f, end_offset: int, path: Path) -> tuple[int, int, int]:
    f.seek(max(0, end_offset - _ZIP64_LOCATOR.size))
    locator = f.read(_ZIP64_LOCATOR.size)
    if len(locator) < _ZIP64_LOCATOR.size or locator[:4] != b"PK\x06\x07":
        raise ArchiveError(f"{path}: zip64 sizes without a zip64 end record")
    record_offset = _ZIP64_LOCATOR.unpack(locator)[2]
    if record_offset + _ZIP64_END.size > end_offset:
        raise ArchiveError(f"{path}: its zip64 end record lies beyond the end of the file")
    f.seek(record_offset)
    record = f.read(_ZIP64_END.size)
    if record[:4] != b"PK\x06\x06":
        raise ArchiveError(f"{path}: a damaged zip64 end record")
    fields = _ZIP64_END.unpack(record)
    return fields[7], fields[8], fields[9]  # entries in all, directory size, directory offset


def _check_entry(
    f, entry: zipfile.ZipInfo, names: re.Pattern[str], stored_only: bool, size: int, path: Path
) -> tuple[int, int, str]:
    """The byte span (local header to end of data) of one entry, after checking it."""
    name = entry.filename
    if not names.fullmatch(name):
        raise ArchiveError(f"{path}: an entry its writer never makes: {name!r}")
    if entry.flag_bits & _ENCRYPTED:
        raise ArchiveError(f"{path}: entry {name!r} is encrypted")
    if entry.compress_type == zipfile.ZIP_STORED:
        if entry.compress_size != entry.file_size:
            raise ArchiveError(
                f"{path}: entry {name!r} is stored, yet its sizes differ "
                f"({entry.compress_size:,} in the file, {entry.file_size:,} unpacked)"
            )
    elif stored_only or entry.compress_type != zipfile.ZIP_DEFLATED:
        raise ArchiveError(
            f"{path}: entry {name!r} is compressed (zip method {entry.compress_type}); its "
            f"writer stores every entry uncompressed, and a compressed one can unpack far "
            f"beyond the file's size (a zip bomb)"
        )
    if entry.compress_size > size:
        raise ArchiveError(f"{path}: entry {name!r} claims more bytes than the file holds")
    f.seek(entry.header_offset)
    header = f.read(_LOCAL.size)
    if len(header) < _LOCAL.size or header[:4] != ZIP_MAGIC:
        raise ArchiveError(f"{path}: entry {name!r} has no local header where the directory says")
    _, _, flags, method, _, _, _, packed, unpacked, name_size, extra_size = _LOCAL.unpack(header)
    local_name = f.read(name_size).decode("utf-8" if flags & 0x800 else "cp437", "replace")
    sizes_agree = (packed, unpacked) in ((entry.compress_size, entry.file_size), (0xFFFFFFFF,) * 2)
    if (
        local_name != name
        or method != entry.compress_type
        or not (sizes_agree or (flags & _DATA_DESCRIPTOR and packed == unpacked == 0))
    ):
        raise ArchiveError(
            f"{path}: entry {name!r}: its local header disagrees with the zip directory"
        )
    start = entry.header_offset
    end = start + _LOCAL.size + name_size + extra_size + entry.compress_size
    if end > size:
        raise ArchiveError(f"{path}: entry {name!r} runs past the end of the file")
    return start, end, name


def _check_spans(spans: list[tuple[int, int, str]], directory_start: int, path: Path) -> None:
    """Entries must not overlap each other or the directory (overlap is how small zips unpack
    into huge ones without compression tricks)."""
    previous_end, previous = 0, None
    for start, end, name in spans:
        if start < previous_end:
            raise ArchiveError(f"{path}: entries {previous!r} and {name!r} overlap")
        previous_end, previous = end, name
    if previous_end > directory_start:
        raise ArchiveError(f"{path}: entry {previous!r} overlaps the zip directory")
