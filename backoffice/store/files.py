"""Uploaded files, content-addressed: on disk under one root (var/files by default), or in an
S3-compatible object store when XIAOBAO_FILES_URL says s3://bucket/prefix (s3files.py).

Both stores name a file `<folder>/<first 16 hex of its sha256>-<safe name>` and answer the full
sha256, which the claim document keeps: the integrity checks compare those digests, whichever
store holds the bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Protocol

_SAFE = re.compile(r"[^0-9A-Za-z._\-\u4e00-\u9fff]+")


class DocumentStore(Protocol):
    """What the use cases and the desk need of a file store."""

    def save(self, folder: str, filename: str, data: bytes) -> tuple[str, str]: ...

    def read(self, relative: str) -> bytes: ...


def address(folder: str, filename: str, data: bytes) -> tuple[str, str]:
    """(relative name, sha256) of a file: the same in every store."""
    digest = hashlib.sha256(data).hexdigest()
    name = _SAFE.sub("_", Path(filename).name)[-80:] or "file"
    place = _SAFE.sub("_", folder).strip(".") or "_"  # never "", "." or ".."
    return f"{place}/{digest[:16]}-{name}", digest


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, folder: str, filename: str, data: bytes) -> tuple[str, str]:
        """Write atomically; returns (path relative to the root, sha256)."""
        relative, digest = address(folder, filename, data)
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return relative, digest

    def read(self, relative: str) -> bytes:
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("path outside the file store")
        return path.read_bytes()

