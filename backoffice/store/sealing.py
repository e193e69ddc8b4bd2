"""Uploaded documents encrypted at rest: envelope encryption, one random data key per file.

A sealed file is a small header, then the document encrypted with AES-256-GCM under its own
data key; the header carries the data key wrapped (AES-256-GCM) under a master key from the
settings (XIAOBAO_FILES_KEYS), named by its key id so that files written under an older master
key are still read after a rotation, and re-wrapped by `xiaobao files rewrap`:

    b"XBFE" | version (1) | key id length (1) | key id (ASCII)
    | wrap nonce (12) | wrapped data key (32 + 16 tag) | data nonce (12) | ciphertext + tag (16)

The wrap authenticates the magic, version and key id (its associated data), the data the magic
and version: a changed byte anywhere makes opening fail with `Tampered`. Re-wrapping rewrites
the header only; the ciphertext is kept as it is.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"XBFE"
VERSION = 1
_PREFIX = MAGIC + bytes([VERSION])
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_NONCE = 12
_WRAPPED = _NONCE + 32 + 16
_TAG = 16


class SealError(ValueError):
    """A stored file that cannot be opened."""


class Tampered(SealError):
    """The header or the ciphertext was changed (or the file is not what its name says)."""


class UnknownKey(SealError):
    """The master key a file or a column value was sealed under is not configured."""

    def __init__(self, key_id: str, setting: str = "XIAOBAO_FILES_KEYS") -> None:
        super().__init__(f"sealed under master key {key_id!r}, which {setting} does not list")
        self.key_id = key_id


@dataclass(frozen=True, slots=True)
class Keyring:
    """The master keys by id; the first is the one new files are sealed under."""

    keys: tuple[tuple[str, bytes], ...]
    setting: str = "XIAOBAO_FILES_KEYS"  # where the keys come from: named when one is missing

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("no master key")
        ids = [k for k, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise ValueError("a key id is listed twice")
        for key_id, key in self.keys:
            if not _KEY_ID.match(key_id) or len(key) != 32:
                raise ValueError(f"key {key_id!r}: id of 1–32 letters, digits, . _ - "
                                 "and 32 bytes of key")

    def __repr__(self) -> str:  # never the key material, wherever settings are printed
        return f"Keyring({', '.join(self.ids)})"

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.keys)

    def key(self, key_id: str) -> bytes:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        raise UnknownKey(key_id, self.setting)

    @classmethod
    def parse(cls, text: str, setting: str = "XIAOBAO_FILES_KEYS") -> Keyring:
        """`kid:base64(32 bytes)[,kid:base64…]`; ValueError that never quotes key material."""
        keys = []
        for n, item in enumerate((i.strip() for i in text.split(",") if i.strip()), 1):
            key_id, sep, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if not sep or not _KEY_ID.match(key_id.strip()) or len(key) != 32:
                raise ValueError(f"entry {n} is not kid:base64 of 32 bytes "
                                 "(kid: 1–32 letters, digits, . _ -)")
            keys.append((key_id.strip(), key))
        return cls(tuple(keys), setting)

    @staticmethod
    def new_entry(key_id: str) -> str:
        """A fresh `kid:base64` entry (the demo key, operators' first key)."""
        return f"{key_id}:{base64.b64encode(AESGCM.generate_key(256)).decode()}"


def is_sealed(blob: bytes) -> bool:
    return blob[:len(_PREFIX)] == _PREFIX


def key_id_of(blob: bytes) -> str:
    """The master key id a sealed file names; Tampered when its header is cut or malformed."""
    return _header(blob)[0]


def seal(data: bytes, keyring: Keyring) -> bytes:
    key_id = keyring.current_id
    data_key = AESGCM.generate_key(256)
    head = _PREFIX + bytes([len(key_id)]) + key_id.encode()
    nonce = os.urandom(_NONCE)
    return (head + _wrap(data_key, head, keyring.key(key_id)) + nonce
            + AESGCM(data_key).encrypt(nonce, data, _PREFIX))


def unseal(blob: bytes, keyring: Keyring) -> bytes:
    """The document; UnknownKey naming a key id not configured, Tampered for changed bytes."""
    key_id, head, wrapped, body = _header(blob)
    data_key = _unwrap(wrapped, head, keyring.key(key_id))
    view = memoryview(body)  # no copies of a 20 MB scan on the way to the cipher
    try:
        return AESGCM(data_key).decrypt(view[:_NONCE], view[_NONCE:], _PREFIX)
    except InvalidTag:
        raise Tampered("the ciphertext does not pass its integrity check") from None


def rewrap(blob: bytes, keyring: Keyring) -> bytes | None:
    """The file with its data key wrapped under the current master key, the ciphertext as it
    was; None when it already is."""
    key_id, head, wrapped, body = _header(blob)
    if key_id == keyring.current_id:
        return None
    data_key = _unwrap(wrapped, head, keyring.key(key_id))
    new_id = keyring.current_id
    new_head = _PREFIX + bytes([len(new_id)]) + new_id.encode()
    return b"".join((new_head, _wrap(data_key, new_head, keyring.key(new_id)), body))


def _header(blob: bytes) -> tuple[str, bytes, bytes, memoryview]:
    """(key id, the authenticated head, the wrapped data key, nonce + ciphertext)."""
    if not is_sealed(blob):
        raise Tampered("not a sealed file")
    start = len(_PREFIX) + 1
    end = start + blob[start - 1] if len(blob) >= start else 0
    try:
        key_id = blob[start:end].decode("ascii")
    except UnicodeDecodeError:
        key_id = ""
    if not _KEY_ID.match(key_id) or len(blob) < end + _WRAPPED + _NONCE + _TAG:
        raise Tampered("the header of the sealed file is malformed")
    return key_id, blob[:end], blob[end:end + _WRAPPED], memoryview(blob)[end + _WRAPPED:]


def _wrap(data_key: bytes, head: bytes, master: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(master).encrypt(nonce, data_key, head)


def _unwrap(wrapped: bytes, head: bytes, master: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], head)
    except InvalidTag:
        raise Tampered("the wrapped data key does not pass its integrity check") from None
