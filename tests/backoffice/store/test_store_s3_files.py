"""Claim documents in an S3-compatible object store, against moto's S3 server (a real process
speaking the S3 protocol): what is written, encrypted at rest, comes back the same and under
the same names and digests as on disk; nothing outside the prefix is reachable; a store that
is down, a bucket that is not there and an object that is gone are clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backoffice.domain.errors import Unavailable
from backoffice.store.files import FileStore
from backoffice.store.s3files import S3FileStore, parse_url
from backoffice.store.stores import open_store
from tests.channels.channel_kit import free_port
from xiaobao.config import Settings

SCAN = b"\xff\xd8\xff\xe0discharge-summary\x00\xff\xd9" * 50


def store(endpoint: str, bucket: str, prefix: str = "claims/docs") -> S3FileStore:
    made = open_store(f"s3://{bucket}/{prefix}", Path("unused"), endpoint_url=endpoint)
    assert isinstance(made, S3FileStore)
    return made


def test_round_trip_same_names_and_digests_as_on_disk(
        s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> None:
    files = store(s3_endpoint, s3_bucket)
    relative, digest = files.save("C2026000001", "出院小结 (1).jpg", SCAN)
    assert files.read(relative) == SCAN
    assert (relative, digest) == FileStore(tmp_path).save("C2026000001", "出院小结 (1).jpg", SCAN)
    again = files.save("C2026000001", "出院小结 (1).jpg", SCAN)  # the same bytes: one object
    assert again == (relative, digest)


def test_every_object_is_encrypted_at_rest_under_the_prefix(
        s3_endpoint: str, s3_bucket: str, s3: Any) -> None:
    files = store(s3_endpoint, s3_bucket, "/claims/docs/")
    relative, digest = files.save("C2026000002", "invoice.pdf", b"%PDF-1.7 invoice")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == [f"claims/docs/{relative}"]
    head = s3.head_object(Bucket=s3_bucket, Key=keys[0], ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"] == {"sha256": digest}
    assert head["ContentLength"] == len(b"%PDF-1.7 invoice")


def test_no_prefix_keeps_the_names_at_the_top(s3_endpoint: str, s3_bucket: str,
                                              s3: Any) -> None:
    files = store(s3_endpoint, s3_bucket, "")
    relative, _ = files.save("C1", "a.png", b"png")
    assert s3.get_object(Bucket=s3_bucket, Key=relative)["Body"].read() == b"png"


@pytest.mark.parametrize("name", [
    "../outside/secret.txt", "/etc/passwd", "C1/../../outside/secret.txt", "", "C1//x",
    "C1/./x", "C1\\..\\x", "C1/x\x00", "outside/../../secret.txt", "C1/" + "x" * 700])
def test_names_that_would_leave_the_prefix_are_refused(
        s3_endpoint: str, s3_bucket: str, s3: Any, name: str) -> None:
    s3.put_object(Bucket=s3_bucket, Key="outside/secret.txt", Body=b"not yours")
    with pytest.raises(ValueError, match="outside the file store"):
        store(s3_endpoint, s3_bucket).read(name)


def test_a_missing_object_is_not_found(s3_endpoint: str, s3_bucket: str) -> None:
    with pytest.raises(FileNotFoundError):
        store(s3_endpoint, s3_bucket).read("C1/0123456789abcdef-gone.jpg")


def test_bytes_that_do_not_match_their_address_are_refused(
        s3_endpoint: str, s3_bucket: str, s3: Any) -> None:
    files = store(s3_endpoint, s3_bucket)
    relative, _ = files.save("C1", "scan.jpg", SCAN)
    s3.put_object(Bucket=s3_bucket, Key=f"claims/docs/{relative}", Body=b"swapped")
    with pytest.raises(ValueError, match="digest"):
        files.read(relative)


def test_a_wrong_bucket_is_a_clear_unavailable(
        s3_endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    files = store(s3_endpoint, "no-such-bucket-here")
    with pytest.raises(Unavailable) as saved:
        files.save("C1", "张三身份证.jpg", SCAN)
    assert saved.value.field == "file" and "不可用" in saved.value.message
    with pytest.raises(Unavailable):
        files.read("C1/0123456789abcdef-scan.jpg")
    # the operator sees the bucket and S3's reason, not the uploader's file name
    assert "no-such-bucket-here" in caplog.text and "NoSuchBucket" in caplog.text
    assert "张三" not in caplog.text


def test_a_store_that_does_not_answer_is_unavailable(s3_bucket: str) -> None:
    files = store(f"http://127.0.0.1:{free_port()}", s3_bucket)  # nobody listens there
    with pytest.raises(Unavailable):
        files.save("C1", "scan.jpg", SCAN)
    with pytest.raises(Unavailable):
        files.read("C1/0123456789abcdef-scan.jpg")


@pytest.mark.parametrize("url", [
    "s3://", "s3:///prefix", "s3://UPPER/x", "s3://a/x", "s3://bucket..dots/x",
    "s3://bucket/../x", "s3://bucket/a/./b", "http://bucket/x", "bucket/x", "s3://b_k/x",
    "s3://bucket/a b"])
def test_bad_urls_say_what_is_wrong(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)


def test_settings_choose_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   s3_endpoint: str) -> None:
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XIAOBAO_API_TOKEN", "t")
    monkeypatch.setenv("XIAOBAO_RASA_TOKEN", "t")
    plain = Settings.from_env()
    assert plain.files_url == ""
    assert isinstance(open_store(plain.files_url, plain.files_root), FileStore)
    monkeypatch.setenv("XIAOBAO_FILES_URL", "s3://xiaobao-docs/prod")
    monkeypatch.setenv("XIAOBAO_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("XIAOBAO_S3_REGION", "cn-north-1")
    chosen = Settings.from_env()
    files = open_store(chosen.files_url, chosen.files_root,
                       endpoint_url=chosen.s3_endpoint_url, region=chosen.s3_region)
    assert isinstance(files, S3FileStore)
    assert (files.bucket, files.prefix) == ("xiaobao-docs", "prod")
    assert files.client.meta.region_name == "cn-north-1"
    for name, value in (("XIAOBAO_FILES_URL", "s3://Bad_Bucket/x"),
                        ("XIAOBAO_FILES_URL", "/var/files"),
                        ("XIAOBAO_S3_ENDPOINT_URL", "minio:9000"),
                        ("XIAOBAO_S3_ENDPOINT_URL", "http://minio:9000/path?x")):
        monkeypatch.setenv("XIAOBAO_FILES_URL", "s3://xiaobao-docs/prod")
        monkeypatch.setenv("XIAOBAO_S3_ENDPOINT_URL", s3_endpoint)
        monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit, match=name):
            Settings.from_env()
