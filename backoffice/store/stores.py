"""The document store the settings name (XIAOBAO_FILES_URL): the disk by default, else an
S3-compatible object store; boto3 is imported only for the latter."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backoffice.store.files import FileStore
from backoffice.store.sealing import Keyring

if TYPE_CHECKING:
    from backoffice.store.s3files import S3FileStore


def open_store(url: str, root: Path, *, endpoint_url: str = "", region: str = "",
               keyring: Keyring | None = None) -> FileStore | S3FileStore:
    """Empty `url`: files on the disk under `root`; s3://bucket/prefix: that bucket. With a
    keyring every file written is sealed under its current key (sealing.py)."""
    if not url:
        return FileStore(root, keyring)
    from backoffice.store.s3files import S3FileStore

    return S3FileStore.from_url(url, endpoint_url=endpoint_url, region=region,
                                keyring=keyring)
