"""Claim documents in an S3-compatible object store (AWS S3, MinIO, Ceph, …), for platforms
that run as several processes or machines: every process reads what any other stored.

Selected by XIAOBAO_FILES_URL=s3://bucket/prefix; XIAOBAO_S3_ENDPOINT_URL points at a store
other than AWS (path-style addressing then), XIAOBAO_S3_REGION (else AWS_REGION /
AWS_DEFAULT_REGION); credentials come the standard AWS way (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, a profile, or the instance's role).

Every object is written with server-side encryption (AES256) and its SHA-256 checksum, which
S3 verifies on arrival (moto, the test stand-in, does not); reads check the bytes against the
digest in their name. The
callers are synchronous use cases that already run in a worker thread, so the synchronous
client (thread-safe) is used as is.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backoffice.domain.errors import Unavailable
from backoffice.store.files import address

log = logging.getLogger("xiaobao.files")

SSE = "AES256"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_SEGMENT = re.compile(r"^[0-9A-Za-z._\-\u4e00-\u9fff]+$")
_ADDRESSED = re.compile(r"^([0-9a-f]{16})-")
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
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @classmethod
    def from_url(cls, url: str, *, endpoint_url: str = "", region: str = "") -> S3FileStore:
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
        return cls(client, bucket, prefix)

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
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key(relative), Body=data, ServerSideEncryption=SSE,
                ChecksumSHA256=checksum, Metadata={"sha256": digest})
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable("put", relative, exc) from None
        return relative, digest

    def read(self, relative: str) -> bytes:
        """The object's bytes; FileNotFoundError when it is gone, ValueError for a name
        outside the prefix or bytes that do not match their address."""
        key = self.key(relative)
        try:
            data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(relative) from None
            raise self._unavailable("get", relative, exc) from None
        except BotoCoreError as exc:
            raise self._unavailable("get", relative, exc) from None
        named = _ADDRESSED.match(relative.rsplit("/", 1)[-1])
        if named and hashlib.sha256(data).hexdigest()[:16] != named.group(1):
            log.error("object %s/%s does not match its digest", self.bucket, _short(relative))
            raise ValueError("stored bytes do not match their digest")
        return data

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
