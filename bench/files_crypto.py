"""What sealing documents at rest costs (backoffice/store/sealing.py): MB/s of storing and
reading a 2 MB photo on the disk store with and without a master key, and of sealing and
opening alone, in memory. AES-GCM's speed does not depend on what the bytes are, so the photo
is 2 MB of random bytes (a JPEG is close to random anyway).

    python -m bench.files_crypto [--rounds 40]

Each figure is the median of the rounds; a put is the store's whole write (address, seal,
write, fsync, rename), a get its whole read (read, open, check the digest).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from backoffice.store.files import FileStore
from backoffice.store.sealing import Keyring, seal, unseal

SIZE = 2 * 1024 * 1024


def median_mb_s(rounds: int, step: Callable[[int], object]) -> float:
    times = []
    for n in range(rounds):
        started = time.perf_counter()
        step(n)
        times.append(time.perf_counter() - started)
    return SIZE / statistics.median(times) / 1e6


def store_figures(root: Path, keyring: Keyring | None, photos: list[bytes],
                  rounds: int) -> tuple[float, float]:
    files = FileStore(root, keyring)
    names: list[str] = []
    put = median_mb_s(rounds, lambda n: names.append(files.save("C1", "photo.jpg",
                                                                photos[n])[0]))
    get = median_mb_s(rounds, lambda n: files.read(names[n]))
    return put, get


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    keyring = Keyring.parse(Keyring.new_entry("bench"))
    # a different photo each round: each put writes a new file, as uploads do
    photos = [os.urandom(SIZE) for _ in range(rounds)]
    sealed = [seal(p, keyring) for p in photos]
    print(f"2 MB photo, median of {rounds} rounds, {os.cpu_count()} CPUs")
    seal_rate = median_mb_s(rounds, lambda n: seal(photos[n], keyring))
    open_rate = median_mb_s(rounds, lambda n: unseal(sealed[n], keyring))
    print(f"  in memory       seal {seal_rate:8.0f} MB/s   open {open_rate:8.0f} MB/s")
    with tempfile.TemporaryDirectory(dir=os.environ.get("XIAOBAO_BENCH_DIR")) as tmp:
        for label, ring in (("plaintext", None), ("sealed", keyring)):
            put, get = store_figures(Path(tmp) / label, ring, photos, rounds)
            print(f"  disk {label:10}  put  {put:8.0f} MB/s   get  {get:8.0f} MB/s")


if __name__ == "__main__":
    main()
