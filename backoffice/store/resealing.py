"""`xiaobao files encrypt` and `xiaobao files rewrap`: one pass over every stored file, while
the platform keeps serving (readers open sealed and plaintext files alike, files.opened).

Each file is replaced whole (an atomic rename on disk, one PUT on S3), so a run stopped half
way leaves every file readable and the next run goes on where it stopped. `encrypt` seals only
bytes whose sha256 is the one in their name, i.e. the plaintext itself: a sealed file never
matches it, so two runs at once, or a second run, never seal a file twice. `rewrap` changes the
header of files under an older master key only; the ciphertext stays as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from backoffice.domain.errors import Unavailable
from backoffice.store.files import StoredFiles, is_plaintext_of, named_digest
from backoffice.store.sealing import (
    Keyring,
    SealError,
    is_sealed,
    key_id_of,
    rewrap,
    seal,
    unseal,
)

Progress = Callable[[str], None]


@dataclass
class Tally:
    """What a run did, for its last line of JSON. Names are shortened (folder and digest):
    the uploader's file name may name a person."""

    files: int = 0
    changed: int = 0
    unchanged: int = 0
    plaintext: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def refuse(self, relative: str, reason: str) -> None:
        self.failed.append({"file": short(relative), "reason": reason})


def encrypt_all(store: StoredFiles, keyring: Keyring, progress: Progress | None = None) -> Tally:
    """Seal every plaintext file under the current master key; sealed ones are left alone."""
    return _each_file(store, keyring, _encrypt_one, progress)


def rewrap_all(store: StoredFiles, keyring: Keyring, progress: Progress | None = None) -> Tally:
    """Re-wrap the data key of every file sealed under another master key than the current."""
    return _each_file(store, keyring, _rewrap_one, progress)


def _each_file(store: StoredFiles, keyring: Keyring,
               one: Callable[[StoredFiles, Keyring, str, Tally], None],
               progress: Progress | None) -> Tally:
    """`one` on every stored file; a file it cannot do is counted as refused, the run goes on."""
    tally = Tally()
    for relative in store.names():
        tally.files += 1
        try:
            one(store, keyring, relative, tally)
        except (OSError, ValueError, Unavailable) as exc:
            tally.refuse(relative, _reason(exc))
        _report(progress, tally)
    return tally


def _encrypt_one(store: StoredFiles, keyring: Keyring, relative: str, tally: Tally) -> None:
    blob = store.read_stored(relative)
    if is_plaintext_of(relative, blob) or (named_digest(relative) is None
                                           and not is_sealed(blob)):
        sealed = seal(blob, keyring)
        if unseal(sealed, keyring) != blob:  # an in-place rewrite of the only copy: be sure
            raise SealError("sealing did not round-trip")
        store.write_stored(relative, sealed, hashlib.sha256(blob).hexdigest())
        tally.changed += 1
    elif is_sealed(blob):
        keyring.key(key_id_of(blob))  # sealed under a key it can open: done earlier
        tally.unchanged += 1
    else:
        raise SealError("stored bytes do not match their digest")


def _rewrap_one(store: StoredFiles, keyring: Keyring, relative: str, tally: Tally) -> None:
    blob = store.read_stored(relative)
    if is_plaintext_of(relative, blob) or (named_digest(relative) is None
                                           and not is_sealed(blob)):
        tally.plaintext += 1  # for `xiaobao files encrypt`, which seals under the current key
        return
    moved = rewrap(blob, keyring)
    if moved is None:
        tally.unchanged += 1
        return
    store.write_stored(relative, moved,
                       _full_digest(moved, keyring, named_digest(relative) or ""))
    tally.changed += 1


def _full_digest(blob: bytes, keyring: Keyring, named: str) -> str:
    """The document's full sha256 for the object's metadata: opening the file also proves the
    re-wrapped header before it replaces the old one."""
    data = unseal(blob, keyring)
    digest = hashlib.sha256(data).hexdigest()
    if not digest.startswith(named):
        raise SealError("stored bytes do not match their digest")
    return digest


def short(relative: str) -> str:
    folder, _, name = relative.rpartition("/")
    return f"{folder}/{name[:16]}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, Unavailable):
        return exc.message
    return str(exc) or type(exc).__name__


def _report(progress: Progress | None, tally: Tally) -> None:
    if progress is not None and tally.files % 1000 == 0:
        progress(f"{tally.files} files: {tally.changed} changed, {tally.unchanged} unchanged, "
                 f"{len(tally.failed)} refused")
