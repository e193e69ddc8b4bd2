"""Personal numbers in database columns encrypted at rest, with a keyed hash for lookups.

ID numbers, phone numbers and bank card numbers are stored sealed (AES-256-GCM, a random
nonce per value) under a master key of XIAOBAO_FIELDS_KEYS, named by its key id as the
documents' are (sealing.Keyring: the first key seals, older ones still open, `xiaobao fields
rewrap` moves every value to the current key while the platform serves). A sealed value is
text:

    "x1:" key id ":" base64(nonce (12) | ciphertext | tag (16))

The associated data is the kind of value ("id_number", "phone", "bank_account"): a sealed
phone number copied into an ID number column does not open.

Where a column is searched (a person by ID number or by phone) a second column holds
HMAC-SHA256 of the normalised value (an ID number upper-cased, a phone number as its digits)
under its own key, XIAOBAO_FIELDS_HASH_KEY, kept to its first 128 bits (32 hex characters:
ample for an equality index, and a narrower one), and the queries compare that:
`Party.id_number_hash == keyed_hash("id_number", value)`. A sealed column refuses to be
compared in SQL (its ciphertext never equals anything), so a query that forgot the hash
fails in the tests instead of finding nothing.

The keys are installed once per process (`install`), by the CLI from the settings, by the
tests from their environment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators

from backoffice.store.sealing import Keyring, SealError, Tampered, UnknownKey

PREFIX = "x1:"
_NONCE = 12
KINDS = ("id_number", "phone", "bank_account")
#: what the sealed columns are declared as (the longest plaintext, a 30-digit account, with
#: a 32-character key id is 113 characters)
SEALED_LENGTH = 160
#: hex characters of a keyed hash: HMAC-SHA256 truncated to 128 bits (RFC 2104 §5), ample for an
#: equality index and half the width of the full digest in every index entry
HASH_LENGTH = 32


class FieldKeysMissing(RuntimeError):
    """No keys were installed in this process: nothing personal can be read or written."""

    def __init__(self) -> None:
        super().__init__("未配置个人信息字段的加密密钥 XIAOBAO_FIELDS_KEYS 与 "
                         "XIAOBAO_FIELDS_HASH_KEY")


@dataclass(frozen=True, slots=True)
class FieldKeys:
    """The master keys that seal column values, and the key of the lookup hashes."""

    keyring: Keyring
    hash_key: bytes

    def __post_init__(self) -> None:
        if len(self.hash_key) != 32:
            raise ValueError("the hash key is not 32 bytes")

    def __repr__(self) -> str:  # never key material
        return f"FieldKeys({', '.join(self.keyring.ids)}; hash key)"

    @classmethod
    def parse(cls, keys: str, hash_key: str) -> FieldKeys:
        """XIAOBAO_FIELDS_KEYS (`kid:base64[,…]`) and XIAOBAO_FIELDS_HASH_KEY (base64 of 32
        bytes); ValueError naming the setting, never quoting key material."""
        try:
            keyring = Keyring.parse(keys, "XIAOBAO_FIELDS_KEYS")
        except ValueError as exc:
            raise ValueError(f"XIAOBAO_FIELDS_KEYS: {exc}") from None
        try:
            raw = base64.b64decode(hash_key.strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError("XIAOBAO_FIELDS_HASH_KEY: not base64 of 32 bytes")
        return cls(keyring, raw)

    @staticmethod
    def new_hash_key() -> str:
        return base64.b64encode(os.urandom(32)).decode()


_installed: list[FieldKeys] = []


def install(keys: FieldKeys | None) -> None:
    """The keys this process seals, opens and hashes with (None: none)."""
    _installed[:] = [keys] if keys is not None else []


def installed() -> FieldKeys:
    if not _installed:
        raise FieldKeysMissing()
    return _installed[0]


def is_installed() -> bool:
    return bool(_installed)


# ---- normalised values and their keyed hash ---------------------------------------------------

_NON_DIGITS = re.compile(r"\D")


def normalise(kind: str, value: str) -> str:
    """The form two spellings of one number share: an ID number stripped and upper-cased
    (the check character X), a phone number or an account as its digits."""
    if kind == "id_number":
        return value.strip().upper()
    if kind in ("phone", "bank_account"):
        return _NON_DIGITS.sub("", value)
    raise ValueError(f"unknown kind {kind!r}")


def keyed_hash(kind: str, value: str | None, keys: FieldKeys | None = None) -> str | None:
    """Hex HMAC-SHA256 of the normalised value under the hash key, truncated to its first
    128 bits (HASH_LENGTH hex characters); None for None or empty."""
    return keyed_hashes(kind, [value], keys)[0]


def keyed_hashes(kind: str, values: Iterable[str | None], keys: FieldKeys | None = None
                 ) -> list[str | None]:
    """`keyed_hash` of each value, in order: one loop over primed states for a batch."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    inner, outer = _hmac_pads((keys or installed()).hash_key)
    prefix = f"{kind}:"
    digits_only = kind != "id_number"
    out: list[str | None] = []
    append = out.append
    for value in values:
        if value is None:
            append(None)
            continue
        if digits_only:
            plain = value if value.isascii() and value.isdigit() else _NON_DIGITS.sub("", value)
        else:
            plain = value.strip().upper()
        if not plain:
            append(None)
            continue
        h = inner.copy()
        h.update((prefix + plain).encode())
        o = outer.copy()
        o.update(h.digest())
        append(o.hexdigest()[:HASH_LENGTH])
    return out


_pads: dict[bytes, tuple[Any, Any]] = {}


def _hmac_pads(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 (RFC 2104) from SHA-256 states primed with the key's pads, copied per
    value: the same digest as `hmac.digest(key, msg, "sha256")`, which releases the GIL on
    every call and so waits a thread switch each time another thread runs (the roster
    import reads ahead in one: 300 µs a hash instead of 1)."""
    pads = _pads.get(key)
    if pads is None:
        block = key.ljust(64, b"\0")  # a 32-byte key: no hashing of the key first
        pads = _pads[key] = (hashlib.sha256(bytes(b ^ 0x36 for b in block)),
                             hashlib.sha256(bytes(b ^ 0x5C for b in block)))
    return pads


# ---- sealing one value ----------------------------------------------------------------------

def is_sealed(text: str | None) -> bool:
    return bool(text) and text.startswith(PREFIX)  # type: ignore[union-attr]


def key_id_of(text: str) -> str:
    if not is_sealed(text):
        raise Tampered("not a sealed value")
    return text[len(PREFIX):].partition(":")[0]


_ciphers: dict[bytes, AESGCM] = {}


def _cipher(key: bytes) -> AESGCM:
    """One AESGCM per key (its key schedule is made once): a roster import seals 400,000
    values."""
    cipher = _ciphers.get(key)
    if cipher is None:
        if len(_ciphers) > 64:
            _ciphers.clear()
        cipher = _ciphers[key] = AESGCM(key)
    return cipher


class _Nonces:
    """Random 96-bit nonces taken from a pool filled by os.urandom 4,096 at a time:
    os.urandom releases the GIL, so one call per value waits a thread switch whenever another
    thread runs (the roster import reads ahead in one). The pool is emptied in a forked
    child, so that two processes never use the same nonces."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pool = b""
        self.at = 0
        os.register_at_fork(after_in_child=self.clear)

    def clear(self) -> None:
        self.pool, self.at = b"", 0

    def take(self) -> bytes:
        with self.lock:
            if self.at + _NONCE > len(self.pool):
                self.pool, self.at = os.urandom(_NONCE * 4096), 0
            nonce = self.pool[self.at:self.at + _NONCE]
            self.at += _NONCE
            return nonce

    @staticmethod
    def take_many(n: int) -> bytes:
        """n fresh nonces end to end, from one os.urandom call (never from the pool)."""
        return os.urandom(_NONCE * n) if n else b""


_nonces = _Nonces()


def seal(kind: str, value: str, keys: FieldKeys | None = None) -> str:
    keyring = (keys or installed()).keyring
    key_id = keyring.current_id
    nonce = _nonces.take()
    body = _cipher(keyring.key(key_id)).encrypt(nonce, value.encode(), kind.encode())
    return f"{PREFIX}{key_id}:{base64.b64encode(nonce + body).decode()}"


def seal_many(kind: str, values: Sequence[str | None], keys: FieldKeys | None = None
              ) -> list[str | None]:
    """`seal` of each value (None stays None), in order: one key lookup, and the nonces from
    one os.urandom call, for a batch."""
    keyring = (keys or installed()).keyring
    key_id = keyring.current_id
    encrypt = _cipher(keyring.key(key_id)).encrypt
    aad = kind.encode()
    head = f"{PREFIX}{key_id}:"
    nonces = _nonces.take_many(len(values))
    b64 = binascii.b2a_base64
    out: list[str | None] = []
    append = out.append
    at = 0
    for value in values:
        if value is None:
            append(None)
        else:
            nonce = nonces[at:at + _NONCE]
            append(head + b64(nonce + encrypt(nonce, value.encode(), aad),
                              newline=False).decode())
        at += _NONCE
    return out


def unseal(kind: str, text: str, keys: FieldKeys | None = None) -> str:
    """The value; UnknownKey naming a key id not configured, Tampered otherwise."""
    keyring = (keys or installed()).keyring
    key_id, sep, encoded = text[len(PREFIX):].partition(":") if is_sealed(text) else ("", "", "")
    if not sep:
        raise Tampered("not a sealed value")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Tampered("a sealed value is malformed") from None
    if len(raw) < _NONCE + 16:
        raise Tampered("a sealed value is malformed")
    try:
        return _cipher(keyring.key(key_id)).decrypt(raw[:_NONCE], raw[_NONCE:],
                                                    kind.encode()).decode()
    except InvalidTag:
        raise Tampered("a sealed value does not pass its integrity check "
                       "(another key under the same id, or changed bytes)") from None


def reseal(kind: str, text: str, keys: FieldKeys | None = None) -> str | None:
    """The value sealed under the current key, or None when it already is."""
    keys = keys or installed()
    if key_id_of(text) == keys.keyring.current_id:
        return None
    return seal(kind, unseal(kind, text, keys), keys)


class Sealed(TypeDecorator[str]):
    """A column whose values are stored sealed; Python sees the plaintext. Comparing it in
    SQL is refused: compare its keyed hash column."""

    impl = String(SEALED_LENGTH)
    cache_ok = True

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        super().__init__()
        self.kind = kind

    class Comparator(TypeDecorator.Comparator[str]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op in (operators.is_, operators.is_not) or (
                    op in (operators.eq, operators.ne) and other and other[0] is None):
                return super().operate(op, *other, **kwargs)
            raise TypeError(f"{self.expr} is stored sealed: compare its keyed hash column "
                            "(fieldseal.keyed_hash), never the column itself")

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
            raise TypeError(f"{self.expr} is stored sealed: compare its keyed hash column")

    comparator_factory = Comparator

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return seal(self.kind, value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return unseal(self.kind, value)


__all__ = [
    "FieldKeys",
    "FieldKeysMissing",
    "SealError",
    "Sealed",
    "Tampered",
    "UnknownKey",
    "install",
    "installed",
    "keyed_hash",
    "keyed_hashes",
    "normalise",
    "reseal",
    "seal",
    "seal_many",
    "unseal",
]
