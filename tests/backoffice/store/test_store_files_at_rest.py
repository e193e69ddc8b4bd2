"""Uploaded documents sealed at rest (envelope encryption, backoffice/store/sealing.py): on the
disk and in the object store (moto's S3 server) the bytes never hold the document; a changed
header or ciphertext is refused; files written under an older master key are read while it is
listed and after `rewrap` without it; `encrypt` seals plaintext written before, once, even when
two runs overlap; settings and the CLI refuse to run a real deployment without a key."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from backoffice.store import resealing
from backoffice.store.files import FileStore
from backoffice.store.s3files import S3FileStore
from backoffice.store.sealing import Keyring, Tampered, UnknownKey, key_id_of, unseal
from backoffice.store.stores import open_store
from xiaobao.cli import NO_FILES_KEY, main
from xiaobao.config import Settings

A = Keyring.parse(Keyring.new_entry("key-a"))
B_ENTRY = Keyring.new_entry("key-b")
A_ENTRY = f"key-a:{base64.b64encode(A.key('key-a')).decode()}"
B_THEN_A = Keyring.parse(f"{B_ENTRY},{A_ENTRY}")
B_ONLY = Keyring.parse(B_ENTRY)
PHOTO = b"\xff\xd8\xff\xe0JFIF\x00discharge summary of 440582194507121234 " * 40


def s3_store(endpoint: str, bucket: str, keyring: Keyring | None) -> S3FileStore:
    made = open_store(f"s3://{bucket}/docs", Path("unused"), endpoint_url=endpoint,
                      keyring=keyring)
    assert isinstance(made, S3FileStore)
    return made


def test_on_disk_the_bytes_are_sealed_and_come_back_with_the_same_digest(
        tmp_path: Path) -> None:
    files = FileStore(tmp_path, A)
    relative, digest = files.save("C2026000001", "出院小结.jpg", PHOTO)
    # content-addressed by the plaintext: the same name and digest as an unsealed store
    assert (relative, digest) == FileStore(tmp_path / "plain").save(
        "C2026000001", "出院小结.jpg", PHOTO)
    assert digest == hashlib.sha256(PHOTO).hexdigest()
    on_disk = (tmp_path / relative).read_bytes()
    assert PHOTO[:16] not in on_disk and b"440582194507121234" not in on_disk
    assert key_id_of(on_disk) == "key-a"
    back = files.read(relative)
    assert back == PHOTO and hashlib.sha256(back).hexdigest() == digest
    assert not list(tmp_path.rglob("*.part"))


def test_in_the_bucket_the_object_is_sealed_and_asked_for_sse(
        s3_endpoint: str, s3_bucket: str, s3: Any) -> None:
    files = s3_store(s3_endpoint, s3_bucket, A)
    relative, digest = files.save("C2026000002", "invoice.jpg", PHOTO)
    stored = s3.get_object(Bucket=s3_bucket, Key=f"docs/{relative}")
    body = stored["Body"].read()
    assert PHOTO[:16] not in body and b"440582194507121234" not in body
    assert stored["ServerSideEncryption"] == "AES256"
    assert stored["Metadata"] == {"sha256": digest}  # the document's digest, not the body's
    assert files.read(relative) == PHOTO
    assert list(files.names()) == [relative]


def _flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1:]


# offsets in a file sealed under "key-a": magic 0–3, version 4, id length 5, id 6–10,
# wrap nonce 11–22, wrapped key 23–70, data nonce 71–82, ciphertext and tag from 83
@pytest.mark.parametrize("change", [
    "magic", "version", "id_length", "key_id", "wrap_nonce", "wrapped_key", "data_nonce",
    "ciphertext", "tag", "cut_short", "cut_header"])
def test_a_changed_header_or_ciphertext_is_refused_as_an_integrity_error(
        tmp_path: Path, change: str) -> None:
    files = FileStore(tmp_path, Keyring.parse(f"{A_ENTRY},key-A:{'A' * 43}="))
    relative, _ = files.save("C1", "scan.jpg", PHOTO)
    path = tmp_path / relative
    blob = path.read_bytes()
    at = {"magic": 0, "version": 4, "id_length": 5, "key_id": 10, "wrap_nonce": 15,
          "wrapped_key": 40, "data_nonce": 75, "ciphertext": 200, "tag": len(blob) - 1}
    changed = (blob[:-1] if change == "cut_short" else blob[:30] if change == "cut_header"
               else blob[:10] + b"A" + blob[11:] if change == "key_id"  # another listed key
               else _flip(blob, at[change]))
    path.write_bytes(changed)
    # a shorter key id names a key nobody has: refused as such
    with pytest.raises(UnknownKey if change == "id_length" else Tampered) as refused:
        files.read(relative)
    assert any(w in str(refused.value) for w in ("integrity", "digest", "malformed", "key-"))


def test_rotation_old_files_read_while_the_old_key_is_listed_then_rewrap_retires_it(
        tmp_path: Path) -> None:
    relative, _ = FileStore(tmp_path, A).save("C1", "scan.jpg", PHOTO)
    assert FileStore(tmp_path, B_THEN_A).read(relative) == PHOTO
    with pytest.raises(UnknownKey) as missing:
        FileStore(tmp_path, B_ONLY).read(relative)
    assert missing.value.key_id == "key-a" and "'key-a'" in str(missing.value)
    new, _ = FileStore(tmp_path, B_THEN_A).save("C1", "new.jpg", PHOTO + b"2")
    assert key_id_of((tmp_path / new).read_bytes()) == "key-b"  # new files: the first key

    done = resealing.rewrap_all(FileStore(tmp_path, B_THEN_A), B_THEN_A)
    assert (done.files, done.changed, done.unchanged, done.failed) == (2, 1, 1, [])
    assert FileStore(tmp_path, B_ONLY).read(relative) == PHOTO
    again = resealing.rewrap_all(FileStore(tmp_path, B_ONLY), B_ONLY)
    assert (again.changed, again.unchanged) == (0, 2)


def test_rewrap_names_a_file_whose_key_is_gone_and_goes_on(tmp_path: Path) -> None:
    FileStore(tmp_path, A).save("C1", "old.jpg", PHOTO)
    FileStore(tmp_path, B_ONLY).save("C2", "new.jpg", PHOTO + b"x")
    done = resealing.rewrap_all(FileStore(tmp_path, B_ONLY), B_ONLY)
    assert done.unchanged == 1 and len(done.failed) == 1
    assert "key-a" in done.failed[0]["reason"]
    assert done.failed[0]["file"] == f"C1/{hashlib.sha256(PHOTO).hexdigest()[:16]}"


def test_encrypt_seals_plaintext_files_once_and_a_second_run_does_nothing(
        tmp_path: Path) -> None:
    plain = FileStore(tmp_path)  # written before encryption
    names = [plain.save(f"C{n}", "scan.jpg", PHOTO + bytes([n]))[0] for n in range(6)]
    sealed_store = FileStore(tmp_path, A)
    assert sealed_store.read(names[0]) == PHOTO + b"\x00"  # readers take plaintext meanwhile

    first = resealing.encrypt_all(sealed_store, A)
    assert (first.files, first.changed, first.unchanged, first.failed) == (6, 6, 0, [])
    blobs = {n: (tmp_path / n).read_bytes() for n in names}
    for n, name in enumerate(names):
        assert PHOTO[:16] not in blobs[name]
        assert sealed_store.read(name) == PHOTO + bytes([n])
    second = resealing.encrypt_all(sealed_store, A)
    assert (second.changed, second.unchanged) == (0, 6)
    assert {n: (tmp_path / n).read_bytes() for n in names} == blobs  # not touched


def test_two_encrypt_runs_at_once_never_seal_a_file_twice(tmp_path: Path) -> None:
    plain = FileStore(tmp_path)
    names = [plain.save("C1", f"p{n}.jpg", PHOTO + bytes([n]))[0] for n in range(40)]
    store = FileStore(tmp_path, A)
    runs = [threading.Thread(target=resealing.encrypt_all, args=(store, A)) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    for n, name in enumerate(names):
        once = unseal((tmp_path / name).read_bytes(), A)
        assert once == PHOTO + bytes([n])  # one layer: opening once gives the document
    assert not list(tmp_path.rglob("*.part"))
    assert resealing.encrypt_all(store, A).changed == 0


def test_encrypt_leaves_a_damaged_file_alone_and_names_it_without_the_file_name(
        tmp_path: Path) -> None:
    good, _ = FileStore(tmp_path).save("C1", "ok.jpg", PHOTO)
    bad, _ = FileStore(tmp_path).save("C1", "张三身份证.jpg", PHOTO + b"!")
    (tmp_path / bad).write_bytes(b"changed on disk")
    done = resealing.encrypt_all(FileStore(tmp_path, A), A)
    assert done.changed == 1 and (tmp_path / bad).read_bytes() == b"changed on disk"
    assert "张三" not in json.dumps(done.failed, ensure_ascii=False)
    assert "digest" in done.failed[0]["reason"]


def test_encrypt_and_rewrap_on_the_object_store(s3_endpoint: str, s3_bucket: str,
                                                s3: Any) -> None:
    plain = s3_store(s3_endpoint, s3_bucket, None)
    relative, digest = plain.save("C3", "scan.jpg", PHOTO)
    first = resealing.encrypt_all(s3_store(s3_endpoint, s3_bucket, A), A)
    assert (first.changed, first.failed) == (1, [])
    head = s3.head_object(Bucket=s3_bucket, Key=f"docs/{relative}")
    assert head["ServerSideEncryption"] == "AES256" and head["Metadata"] == {"sha256": digest}
    body = s3.get_object(Bucket=s3_bucket, Key=f"docs/{relative}")["Body"].read()
    assert PHOTO[:16] not in body
    assert resealing.encrypt_all(s3_store(s3_endpoint, s3_bucket, A), A).changed == 0
    rotated = resealing.rewrap_all(s3_store(s3_endpoint, s3_bucket, B_THEN_A), B_THEN_A)
    assert rotated.changed == 1
    assert s3_store(s3_endpoint, s3_bucket, B_ONLY).read(relative) == PHOTO
    body = s3.get_object(Bucket=s3_bucket, Key=f"docs/{relative}")["Body"].read()
    assert key_id_of(body) == "key-b"
    s3.put_object(Bucket=s3_bucket, Key=f"docs/{relative}", Body=_flip(body, 120))
    with pytest.raises(Tampered):
        s3_store(s3_endpoint, s3_bucket, B_ONLY).read(relative)


def test_a_plaintext_document_that_looks_like_a_header_is_still_read(tmp_path: Path) -> None:
    sly = b"XBFE\x01\x05key-a" + b"\x00" * 100
    relative, _ = FileStore(tmp_path).save("C1", "x.bin", sly)
    assert FileStore(tmp_path, A).read(relative) == sly
    assert resealing.encrypt_all(FileStore(tmp_path, A), A).changed == 1  # and then sealed
    assert FileStore(tmp_path, A).read(relative) == sly


@pytest.mark.parametrize("value", [
    "nokey", "k1:", "k1:c2hvcnQ=", "k 1:" + "A" * 43 + "=", ":" + "A" * 43 + "=",
    f"{A_ENTRY},{A_ENTRY}", "k1:" + "!" * 44, "x" * 33 + ":" + "A" * 43 + "="])
def test_bad_keys_stop_the_start_naming_the_setting_not_the_key(
        value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XIAOBAO_FILES_KEYS", value)
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env()
    assert "XIAOBAO_FILES_KEYS" in str(stopped.value)
    assert A_ENTRY.split(":")[1] not in str(stopped.value)


def test_settings_hold_the_keys_without_showing_them(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XIAOBAO_FILES_KEYS", f" {B_ENTRY} , {A_ENTRY} ")
    settings = Settings.from_env()
    assert settings.files_keys is not None and settings.files_keys.ids == ("key-b", "key-a")
    assert settings.files_keyring() is settings.files_keys
    assert B_ENTRY.split(":")[1] not in repr(settings)


def test_serve_refuses_to_start_without_a_key_unless_told_it_is_a_demo(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XIAOBAO_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    monkeypatch.delenv("XIAOBAO_FILES_KEYS", raising=False)
    monkeypatch.setenv("XIAOBAO_FILES_DEMO_KEY", "0")
    assert main(["serve", "--port", "0"]) == NO_FILES_KEY
    assert "XIAOBAO_FILES_KEYS" in capsys.readouterr().err
    assert not (tmp_path / "never.db").exists() and not (tmp_path / "files-key").exists()

    monkeypatch.setenv("XIAOBAO_FILES_DEMO_KEY", "1")  # development: the demo key in var/
    demo = Settings.from_env().files_keyring()
    assert demo is not None and demo.ids == ("demo",)
    path = tmp_path / "files-key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Settings.from_env().files_keyring() == demo  # made once, then read
    monkeypatch.setenv("XIAOBAO_FILES_DEMO_KEY", "0")
    assert Settings.from_env().files_keyring(demo=True) == demo  # what `xiaobao up` takes


def test_cli_encrypts_then_rewraps_the_disk_store(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    relative, _ = FileStore(tmp_path / "files").save("C1", "scan.jpg", PHOTO)
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XIAOBAO_FILES_KEYS", A_ENTRY)
    assert main(["files", "encrypt"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {
        "files": 1, "changed": 1, "unchanged": 0, "plaintext": 0, "failed": []}
    monkeypatch.setenv("XIAOBAO_FILES_KEYS", f"{B_ENTRY},{A_ENTRY}")
    assert main(["files", "rewrap"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["changed"] == 1
    assert FileStore(tmp_path / "files", B_ONLY).read(relative) == PHOTO
    (tmp_path / "files" / relative).write_bytes(b"changed")
    assert main(["files", "rewrap"]) == 1  # a file it could not handle: a failing exit
    monkeypatch.delenv("XIAOBAO_FILES_KEYS")
    monkeypatch.setenv("XIAOBAO_FILES_DEMO_KEY", "0")
    assert main(["files", "encrypt"]) == NO_FILES_KEY


def test_processes_starting_together_share_one_demo_key(tmp_path: Path) -> None:
    """Several platform processes on one var/ make the demo key at the same moment: each
    gets the same whole key, none an empty or half-written file."""
    for round_ in range(20):
        var = tmp_path / f"var{round_}"
        start = threading.Barrier(6)
        got: list[str] = []

        def make(var: Path = var, start: threading.Barrier = start,
                 got: list[str] = got) -> None:
            start.wait()
            keyring = Settings(database_url="sqlite://", api_token="t", rasa_url="",
                               log_level="INFO", var_dir=var).files_keyring(demo=True)
            got.append(repr(keyring) + (keyring.key("demo").hex() if keyring else ""))

        threads = [threading.Thread(target=make) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(got) == 6 and len(set(got)) == 1 and "demo" in got[0]
        assert [p.name for p in var.iterdir()] == ["files-key"]  # no temporary file left
