"""Uploaded files on disk, content-addressed under one root (var/files by default)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

_SAFE = re.compile(r"[^0-9A-Za-z._\-\u4e00-\u9fff]+")


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, folder: str, filename: str, data: bytes) -> tuple[str, str]:
        """Write atomically; returns (path relative to the root, sha256)."""
        digest = hashlib.sha256(data).hexdigest()
        name = _SAFE.sub("_", Path(filename).name)[-80:] or "file"
        relative = Path(_SAFE.sub("_", folder)) / f"{digest[:16]}-{name}"
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return str(relative), digest

    def read(self, relative: str) -> bytes:
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("path outside the file store")
        return path.read_bytes()
