"""The document store the settings name (XIAOBAO_FILES_URL): the disk by default, else an
S3-compatible object store; boto3 is imported only for the latter."""

from __future__ import annotations

from pathlib import Path

from backoffice.store.files import DocumentStore, FileStore


def open_store(url: str, root: Path, *, endpoint_url: str = "",
               region: str = "") -> DocumentStore:
    """Empty `url`: files on the disk under `root`; s3://bucket/prefix: that bucket."""
    if not url:
        return FileStore(root)
    from backoffice.store.s3files import S3FileStore

    return S3FileStore.from_url(url, endpoint_url=endpoint_url, region=region)
