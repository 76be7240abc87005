"""Zip archives are checked before a byte is unpacked: every lie a zip can tell is refused."""

import io
import re
import zipfile

import pytest
import torch

from mnist_cnn.archive import (
    MAX_CHECKPOINT_BYTES,
    TORCH_ENTRIES,
    ArchiveError,
    NotAnArchiveError,
    check_zip,
)
from tests.fixtures import deflated, stored, zip_bytes

ANY = re.compile(r".+")


def _raw_zip(entries, method=zipfile.ZIP_STORED, **lies):
    """`zip_bytes` of plain `name: data` entries, stored or deflated, with any of its lies."""
    pack = stored if method == zipfile.ZIP_STORED else deflated
    return zip_bytes({name: pack(data) for name, data in entries.items()}, **lies)


def _write(tmp_path, data, name="x.zip"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_checkpoint_torch_writes_passes(tmp_path):
    path = tmp_path / "model.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(3, 4)}, "epoch": 1}, path)
    entries = check_zip(path, TORCH_ENTRIES, MAX_CHECKPOINT_BYTES, stored_only=True)
    assert {entry.filename for entry in entries} >= {"model/data.pkl", "model/data/0"}


def test_a_well_formed_hand_written_zip_passes(tmp_path):
    path = _write(tmp_path, _raw_zip({"a": b"x" * 10, "b": b"y" * 20}))
    assert [e.filename for e in check_zip(path, ANY, 100, stored_only=True)] == ["a", "b"]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x80\x02}q\x00.", "not a zip archive"),  # a legacy (torch < 1.6) pickle file
        (b"hello, I am a text file\n", "not a zip archive"),
        (b"PK\x03\x04" + bytes(40), "truncated or damaged"),
    ],
)
def test_files_that_are_not_whole_zips_are_refused(tmp_path, data, match):
    with pytest.raises(ArchiveError, match=match):
        check_zip(_write(tmp_path, data), ANY, 1 << 20, stored_only=True)


def test_not_a_zip_has_its_own_type(tmp_path):
    with pytest.raises(NotAnArchiveError):
        check_zip(_write(tmp_path, b"plain text"), ANY, 1 << 20, stored_only=True)


def test_a_compressed_entry_is_refused_where_the_writer_stores(tmp_path):
    path = _write(tmp_path, _raw_zip({"a": bytes(10_000)}, method=zipfile.ZIP_DEFLATED))
    with pytest.raises(ArchiveError, match=r"'a' is compressed .*\(a zip bomb\)"):
        check_zip(path, ANY, 1 << 20, stored_only=True)
    assert check_zip(path, ANY, 1 << 20, stored_only=False)[0].file_size == 10_000


def test_a_bounded_total_and_entry_count(tmp_path):
    path = _write(tmp_path, _raw_zip({f"e{i}": b"abcd" for i in range(10)}))
    with pytest.raises(ArchiveError, match="unpacks to 40 bytes, over the limit of 39"):
        check_zip(path, ANY, 39, stored_only=True)
    with pytest.raises(ArchiveError, match="10 entries, over the limit of 9"):
        check_zip(path, ANY, 1 << 20, stored_only=True, max_entries=9)


def test_names_the_writer_never_uses_are_refused(tmp_path):
    path = _write(tmp_path, _raw_zip({"archive/data.pkl": b"x", "archive/evil.py": b"y"}))
    with pytest.raises(ArchiveError, match=r"an entry its writer never makes: 'archive/evil\.py'"):
        check_zip(path, TORCH_ENTRIES, 1 << 20, stored_only=True)


def test_overlapping_entries_are_refused(tmp_path):
    # Entry b's local header and data lie inside entry a's data: the overlap behind
    # non-recursive zip bombs, where many entries unpack the same bytes.
    inner = _raw_zip({"b": b"y" * 100})
    inner = inner[: inner.index(b"PK\x01\x02")]  # b's local header and data only
    whole = _raw_zip({"a": inner, "b": b"y" * 100}, offsets={"b": 30 + len("a")})
    with pytest.raises(ArchiveError, match="entries 'a' and 'b' overlap"):
        check_zip(_write(tmp_path, whole), ANY, 1 << 20, stored_only=True)


def test_a_directory_that_disagrees_with_the_local_headers_is_refused(tmp_path):
    renamed = _raw_zip({"a": b"x" * 100, "b": b"y"}, local_names={"b": "a"})
    with pytest.raises(ArchiveError, match="'b': its local header disagrees"):
        check_zip(_write(tmp_path, renamed), ANY, 1 << 20, stored_only=True)


def test_a_directory_that_lies_about_sizes_is_refused(tmp_path):
    bigger = _raw_zip({"a": b"x" * 100}, central_sizes={"a": (100, 1 << 30)})
    with pytest.raises(ArchiveError, match="'a' is stored, yet its sizes differ"):
        check_zip(_write(tmp_path, bigger), ANY, 1 << 40, stored_only=True)
    beyond = _raw_zip({"a": b"x" * 100}, central_sizes={"a": (5000, 5000)})
    with pytest.raises(ArchiveError, match="'a' claims more bytes than the file holds"):
        check_zip(_write(tmp_path, beyond, "b.zip"), ANY, 1 << 40, stored_only=True)


def test_zip64_sizes_are_held_to_the_same_rules(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, archive.open("a", "w", force_zip64=True) as f:
        f.write(b"x" * 1000)
    path = _write(tmp_path, buffer.getvalue())
    assert check_zip(path, ANY, 1000, stored_only=True)[0].file_size == 1000
    with pytest.raises(ArchiveError, match="over the limit of 999"):
        check_zip(path, ANY, 999, stored_only=True)


def test_duplicate_names_are_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a", b"1")
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("a", b"2")
    with pytest.raises(ArchiveError, match="two entries share a name"):
        check_zip(_write(tmp_path, buffer.getvalue()), ANY, 100, stored_only=True)
