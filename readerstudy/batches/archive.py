"""Opening a batch zip safely: a pure module (no Django), so it can be property-tested and fuzzed.

Everything here is decided from the zip's central directory before any member is decompressed: member names
(no ``..``, absolute paths, drive letters or backslashes), symlinks, nested archives, encryption, the number of
members, the total uncompressed size and each member's compression ratio. Members are then read one at a time with
:func:`read_member`, which never returns more than the size the directory declared (zipfile stops there and checks
the CRC), so a lying header cannot inflate memory.
"""
from __future__ import annotations

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import IO

from .manifest import MANIFEST_NAME, RowError

PROVENANCE_NAME = "provenance.json"
IGNORED_DIRECTORIES = frozenset({"__MACOSX"})
IGNORED_BASENAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
ARCHIVE_SUFFIXES = (".zip", ".jar", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz")
ZIP_MAGIC = b"PK\x03\x04"
RATIO_CHECK_FROM_BYTES = 64 * 1024  # tiny members (a manifest) may compress well without being a bomb
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveLimits:
    max_zip_bytes: int
    max_members: int
    max_uncompressed_bytes: int
    max_compression_ratio: int
    # manifest.csv and provenance.json are read whole (a manifest of 5,000 images is about 1 MB)
    max_text_bytes: int = 16 * 1024 * 1024


class ArchiveRejected(ValueError):
    """The zip as a whole is refused; ``errors`` names each offending member."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


@dataclass
class ArchiveListing:
    """A checked zip: the manifest, the optional provenance file and every other member by its manifest name."""

    zip: zipfile.ZipFile
    root: str
    manifest: zipfile.ZipInfo
    provenance: zipfile.ZipInfo | None
    members: dict[str, zipfile.ZipInfo] = field(default_factory=dict)


def is_ignored(name: str) -> bool:
    """Folders and files operating systems add on their own (macOS resource forks, Finder and Explorer files)."""
    parts = name.split("/")
    return parts[0] in IGNORED_DIRECTORIES or parts[-1] in IGNORED_BASENAMES


def unsafe_name_reason(name: str) -> str:
    """Why a member name could escape the extraction folder or confuse a path check, or "" if it is safe."""
    if not name:
        return "has an empty name"
    if "\\" in name:
        return "has a backslash in its name"
    if name.startswith("/"):
        return "has an absolute path"
    if _DRIVE_LETTER.match(name):
        return "has a drive letter"
    if any(part == ".." for part in name.split("/")):
        return "has '..' in its path"
    if any(ord(char) < 32 for char in name):
        return "has a control character in its name"
    return ""


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _member_problem(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str:
    reason = unsafe_name_reason(info.filename)
    if reason:
        return reason
    if _is_symlink(info):
        return "is a symbolic link"
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.filename.lower().endswith(ARCHIVE_SUFFIXES):
        return "is a nested archive; put the images in the zip itself"
    if info.file_size > RATIO_CHECK_FROM_BYTES and info.file_size > limits.max_compression_ratio * max(
            info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        return (f"expands {ratio:.0f} times ({info.compress_size} to {info.file_size} bytes), over the limit of "
                f"{limits.max_compression_ratio} (a zip bomb?)")
    return ""


def _find_root(names: list[str]) -> str:
    """'' when manifest.csv is at the top, 'folder/' when the zip holds one folder with it, else raise."""
    if MANIFEST_NAME in names:
        return ""
    candidates = [name for name in names if name.rsplit("/", 1)[-1] == MANIFEST_NAME and name.count("/") == 1]
    if len(candidates) == 1:
        return candidates[0][: -len(MANIFEST_NAME)]
    raise ArchiveRejected([RowError(f"the zip has no {MANIFEST_NAME} at its top level", MANIFEST_NAME)])


def open_archive(fileobj: IO[bytes], *, size: int, limits: ArchiveLimits) -> ArchiveListing:
    """Check the zip's directory against the limits and the naming rules; raise ArchiveRejected naming each problem."""
    if size > limits.max_zip_bytes:
        raise ArchiveRejected([RowError(f"the zip is {size} bytes, over the limit of {limits.max_zip_bytes}")])
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise ArchiveRejected([RowError("the file is not a zip archive")]) from None
    try:
        return _list_archive(archive, limits)
    except BaseException:
        archive.close()
        raise


def _list_archive(archive: zipfile.ZipFile, limits: ArchiveLimits) -> ArchiveListing:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveRejected([RowError(f"the zip has {len(infos)} members, over the limit of {limits.max_members}")])
    if any(not info.filename for info in infos):  # zipfile's own is_dir() fails on an empty name
        raise ArchiveRejected([RowError("the zip holds a member with an empty name")])
    files = [info for info in infos if not info.is_dir() and not is_ignored(info.filename)]
    if not files:
        raise ArchiveRejected([RowError("the zip is empty")])
    errors = [RowError(problem, info.filename) for info in infos if (problem := _member_problem(info, limits))]
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        errors.append(RowError(f"the zip expands to {total} bytes, over the limit of {limits.max_uncompressed_bytes}"))
    seen: set[str] = set()
    for info in files:
        if info.filename in seen:
            errors.append(RowError("appears twice in the zip", info.filename))
        seen.add(info.filename)
    if errors:
        raise ArchiveRejected(errors)
    root = _find_root([info.filename for info in files])
    members: dict[str, zipfile.ZipInfo] = {}
    for info in files:
        members[info.filename[len(root):] if info.filename.startswith(root) else info.filename] = info
    manifest = members.pop(MANIFEST_NAME)
    provenance = members.pop(PROVENANCE_NAME, None)
    oversized = [RowError(f"is {info.file_size} bytes, over the limit of {limits.max_text_bytes} for this file", name)
                 for name, info in ((MANIFEST_NAME, manifest), (PROVENANCE_NAME, provenance))
                 if info is not None and info.file_size > limits.max_text_bytes]
    if oversized:
        raise ArchiveRejected(oversized)
    return ArchiveListing(zip=archive, root=root, manifest=manifest, provenance=provenance, members=members)


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never more than its declared size; ValueError (for a person to read) if it is damaged."""
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as error:
        raise ValueError(f"cannot be read from the zip ({error})") from None
    if len(data) != info.file_size:
        raise ValueError("is damaged in the zip (its size does not match the zip's directory)")
    if data.startswith(ZIP_MAGIC):
        raise ValueError("is a nested zip archive; put the images in the zip itself")
    return data
