"""Claim documents in an S3-compatible object store (AWS S3, MinIO, Ceph, …), for platforms
that run as several processes or machines: every process reads what any other stored.

Selected by XIAOBAO_FILES_URL=s3://bucket/prefix; XIAOBAO_S3_ENDPOINT_URL points at a store
other than AWS (path-style addressing then), XIAOBAO_S3_REGION (else AWS_REGION /
AWS_DEFAULT_REGION); credentials come the standard AWS way (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, a profile, or the instance's role).

Every object is written with server-side encryption (AES256) and its SHA-256 checksum, which
S3 verifies on arrival (moto, the test stand-in, does not). With a keyring the body is the
document sealed by the platform itself (sealing.py: the bucket's operator and S3 never see the
plaintext); reads open it and check the document against the digest in its name. The
callers are synchronous use cases that already run in a worker thread, so the synchronous
client (thread-safe) is used as is.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backoffice.domain.errors import Unavailable
from backoffice.store.files import address, for_storage, opened
from backoffice.store.sealing import Keyring, SealError

log = logging.getLogger("xiaobao.files")

SSE = "AES256"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_SEGMENT = re.compile(r"^[0-9A-Za-z._\-\u4e00-\u9fff]+$")
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
UNAVAILABLE = "材料存储暂时不可用，请稍后再试"


def parse_url(url: str) -> tuple[str, str]:
    """s3://bucket/prefix → (bucket, prefix without slashes); ValueError saying what is wrong."""
    if not url.startswith("s3://"):
        raise ValueError("must be s3://bucket/prefix (empty: files on the local disk)")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(f"bucket name {bucket!r} is not a valid S3 bucket name")
    prefix = prefix.strip("/")
    if prefix and not all(_SEGMENT.match(p) and p not in (".", "..")
                          for p in prefix.split("/")):
        raise ValueError(f"prefix {prefix!r}: letters, digits, . _ - between slashes only")
    return bucket, prefix


class S3FileStore:
    def __init__(self, client: Any, bucket: str, prefix: str = "",
                 keyring: Keyring | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.keyring = keyring

    @classmethod
    def from_url(cls, url: str, *, endpoint_url: str = "", region: str = "",
                 keyring: Keyring | None = None) -> S3FileStore:
        bucket, prefix = parse_url(url)
        config = Config(
            connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"},
            # other stores than AWS: the bucket in the path, not in the host name
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            # the SHA-256 checksum is sent explicitly; no extra CRC trailers that older
            # S3-compatible stores refuse
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required")
        client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None, config=config)
        return cls(client, bucket, prefix, keyring)

    def key(self, relative: str) -> str:
        """The object key of a stored name; ValueError for one that would leave the prefix."""
        parts = relative.split("/")
        if not relative or len(relative) > 600 or not all(
                _SEGMENT.match(p) and p not in (".", "..") for p in parts):
            raise ValueError("path outside the file store")
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def save(self, folder: str, filename: str, data: bytes) -> tuple[str, str]:
        """Put the object encrypted at rest; returns (name relative to the prefix, sha256)."""
        relative, digest = address(folder, filename, data)
        self.write_stored(relative, for_storage(data, self.keyring), digest)
        return relative, digest

    def read(self, relative: str) -> bytes:
        """The document; FileNotFoundError when it is gone, ValueError for a name outside the
        prefix or bytes that fail their checks (sealing.Tampered, sealing.UnknownKey)."""
        try:
            return opened(relative, self.read_stored(relative), self.keyring)
        except SealError as exc:
            log.error("object %s/%s refused: %s", self.bucket, _short(relative), exc)
            raise

    def read_stored(self, relative: str) -> bytes:
        """The object's bytes as stored (sealed or not)."""
        key = self.key(relative)
        try:
            data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(relative) from None
            raise self._unavailable("get", relative, exc) from None
        except BotoCoreError as exc:
            raise self._unavailable("get", relative, exc) from None
        return data

    def write_stored(self, relative: str, blob: bytes, digest: str) -> None:
        """Put one object whole (S3 replaces it at once); `digest` is the document's."""
        checksum = base64.b64encode(hashlib.sha256(blob).digest()).decode()
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key(relative), Body=blob, ServerSideEncryption=SSE,
                ChecksumSHA256=checksum, Metadata={"sha256": digest})
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable("put", relative, exc) from None

    def delete(self, relative: str) -> bool:
        """Remove the object (retention, erasure): whether it was there. S3 answers a delete
        of a missing key as a success, so it is looked up first. On a bucket with versioning
        the older versions stay: the bucket's lifecycle rule must expire them (README)."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(relative))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return False
            raise self._unavailable("head", relative, exc) from None
        except BotoCoreError as exc:
            raise self._unavailable("head", relative, exc) from None
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(relative))
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable("delete", relative, exc) from None
        return True

    def names(self) -> Iterator[str]:
        """Every stored name under the prefix, page by page."""
        start = f"{self.prefix}/" if self.prefix else ""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start)
            for page in pages:
                for item in page.get("Contents", ()):
                    yield item["Key"][len(start):]
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable("list", start, exc) from None

    def _unavailable(self, verb: str, relative: str, exc: Exception) -> Unavailable:
        # the operator learns which bucket and why; the caller only that the store is down
        log.warning("object store %s %s/%s failed: %s", verb, self.bucket, _short(relative),
                    _code(exc) if isinstance(exc, ClientError) else type(exc).__name__)
        return Unavailable(UNAVAILABLE, "file")


def _short(relative: str) -> str:
    """A stored name without the uploader's file name (it may name a person) for the logs."""
    folder, _, name = relative.rpartition("/")
    return f"{folder}/{name[:16]}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
