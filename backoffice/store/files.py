"""Uploaded files, content-addressed: on disk under one root (var/files by default), or in an
S3-compatible object store when XIAOBAO_FILES_URL says s3://bucket/prefix (s3files.py).

Both stores name a file `<folder>/<first 16 hex of its sha256>-<safe name>` and answer the full
sha256, which the claim document keeps: the integrity checks compare those digests, whichever
store holds the bytes. The digest is the plaintext's: with a keyring (XIAOBAO_FILES_KEYS) each
file is stored sealed (sealing.py), and a read opens it and checks the opened bytes against the
digest in its name. Files stored before encryption (plaintext) are still read, until
`xiaobao files encrypt` seals them in place.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from backoffice.store.sealing import (
    Keyring,
    SealError,
    Tampered,
    UnknownKey,
    is_sealed,
    key_id_of,
    seal,
    unseal,
)

_SAFE = re.compile(r"[^0-9A-Za-z._\-\u4e00-\u9fff]+")
_ADDRESSED = re.compile(r"^([0-9a-f]{16})-")


class DocumentStore(Protocol):
    """What the use cases and the desk need of a file store."""

    def save(self, folder: str, filename: str, data: bytes) -> tuple[str, str]: ...

    def read(self, relative: str) -> bytes: ...

    def delete(self, relative: str) -> bool: ...


class StoredFiles(Protocol):
    """What `xiaobao files encrypt|rewrap` need: the stored bytes as they are, by name."""

    def names(self) -> Iterator[str]: ...

    def read_stored(self, relative: str) -> bytes: ...

    def write_stored(self, relative: str, blob: bytes, digest: str) -> None: ...


def address(folder: str, filename: str, data: bytes) -> tuple[str, str]:
    """(relative name, sha256) of a file: the same in every store."""
    digest = hashlib.sha256(data).hexdigest()
    name = _SAFE.sub("_", Path(filename).name)[-80:] or "file"
    place = _SAFE.sub("_", folder).strip(".") or "_"  # never "", "." or ".."
    return f"{place}/{digest[:16]}-{name}", digest


def named_digest(relative: str) -> str | None:
    """The 16 hex of the plaintext's sha256 a stored name starts with, if it has them."""
    named = _ADDRESSED.match(relative.rsplit("/", 1)[-1])
    return named.group(1) if named else None


def is_plaintext_of(relative: str, blob: bytes) -> bool:
    """Bytes that are the very document the name was made from (stored unsealed)."""
    digest = named_digest(relative)
    return digest is not None and hashlib.sha256(blob).hexdigest()[:16] == digest


def for_storage(data: bytes, keyring: Keyring | None) -> bytes:
    return seal(data, keyring) if keyring is not None else data


def opened(relative: str, blob: bytes, keyring: Keyring | None) -> bytes:
    """The document stored as `blob`, sealed or (written before encryption) plaintext, checked
    against the digest in its name. Tampered (a ValueError) for bytes that fail either check;
    UnknownKey naming the key id of a file sealed under a key not configured."""
    digest = named_digest(relative)
    if is_sealed(blob):
        try:
            if keyring is None:  # no keys configured at all: name the one it needs
                raise UnknownKey(key_id_of(blob))
            data = unseal(blob, keyring)
        except SealError:
            if is_plaintext_of(relative, blob):  # a document that merely starts like a header
                return blob
            raise
    else:
        data = blob
    if digest is not None and hashlib.sha256(data).hexdigest()[:16] != digest:
        raise Tampered("stored bytes do not match their digest")
    return data


class FileStore:
    def __init__(self, root: Path, keyring: Keyring | None = None) -> None:
        self.root = root
        self.keyring = keyring

    def save(self, folder: str, filename: str, data: bytes) -> tuple[str, str]:
        """Write atomically; returns (path relative to the root, sha256)."""
        relative, digest = address(folder, filename, data)
        self.write_stored(relative, for_storage(data, self.keyring), digest)
        return relative, digest

    def read(self, relative: str) -> bytes:
        return opened(relative, self.read_stored(relative), self.keyring)

    def read_stored(self, relative: str) -> bytes:
        return self._path(relative).read_bytes()

    def write_stored(self, relative: str, blob: bytes, digest: str = "") -> None:
        """Replace the file at once: a reader sees the old bytes or the new, never a part.
        Each writer has its own temporary file, so two runs over one file do not mix."""
        target = self._path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{secrets.token_hex(4)}.part")
        with tmp.open("wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())  # encrypting in place: the only copy is being replaced
        os.replace(tmp, target)

    def delete(self, relative: str) -> bool:
        """Remove the file (retention, erasure): whether it was there."""
        try:
            self._path(relative).unlink()
        except FileNotFoundError:
            return False
        return True

    def names(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                yield path.relative_to(self.root).as_posix()

    def _path(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("path outside the file store")
        return path
