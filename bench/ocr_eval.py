"""OCR accuracy and speed on the synthetic evaluation set (bench/ocr_synth.py).

Prints field-level exact-match accuracy per document type (every field of the ground truth
must come back with exactly that value) and, for 12-megapixel phone photos of an A5 discharge
summary, the p50 of the whole reading with per-stage timings (detection, orientation,
recognition, extraction). The models are loaded before timing starts.

Usage: python -m bench.ocr_eval [--per-type N] [--seed S] [--timing-photos N] [--show-misses]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

if not __package__:  # run as a script (make bench): the repository root holds `bench`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ocr_synth import DOC_TYPES, make_sample, phone_photo_a5
from ocr import read_document
from ocr.engine import get_engine


def accuracy(per_type: int, seed: int, show_misses: bool) -> None:
    right: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    typed: dict[str, int] = defaultdict(int)
    for kind in DOC_TYPES:
        for i in range(per_type):
            sample = make_sample(kind, seed + i)
            reading = read_document(sample.image)
            typed[kind] += reading.doc_type == sample.doc_type
            for name, expected in sample.truth.items():
                got = reading.fields.get(name, {}).get("value")
                total[kind] += 1
                right[kind] += got == expected
                if got != expected and show_misses:
                    print(f"  miss {sample.name} {name}: {got!r} != {expected!r}",
                          file=sys.stderr)
    print(f"{'document type':<24}{'images':>7}{'type ok':>9}{'fields':>8}{'exact':>9}")
    for kind in DOC_TYPES:
        print(f"{kind:<24}{per_type:>7}{typed[kind]:>9}{total[kind]:>8}"
              f"{100 * right[kind] / total[kind]:>8.1f}%")
    all_right, all_total = sum(right.values()), sum(total.values())
    print(f"{'all':<24}{per_type * len(DOC_TYPES):>7}{sum(typed.values()):>9}{all_total:>8}"
          f"{100 * all_right / all_total:>8.1f}%")


def timing(photos: int) -> None:
    stages: dict[str, list[float]] = defaultdict(list)
    totals, cpu = [], []
    read_document(phone_photo_a5(photos), "discharge_summary")  # warm up the sessions
    load_before = os.getloadavg()[0]
    for i in range(photos):
        data = phone_photo_a5(i)
        started, cpu_started = time.perf_counter(), time.process_time()
        reading = read_document(data, "discharge_summary")
        totals.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        for stage, spent in reading.timings.items():
            stages[stage].append(spent)
    print(f"A5 phone photo (4000 px JPEG), {photos} photos, {os.cpu_count()} cores: "
          f"p50 {statistics.median(totals):.2f} s, max {max(totals):.2f} s; "
          f"CPU time p50 {statistics.median(cpu):.2f} s")
    # the machine may be shared: the load says how far the wall-clock figures can be trusted
    print(f"  load average before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    for stage in ("load", "detection", "orientation", "recognition", "extraction"):
        if stage in stages:
            print(f"  {stage:<12} p50 {statistics.median(stages[stage]) * 1000:7.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-type", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--timing-photos", type=int, default=15)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    get_engine()
    print(f"engine {get_engine().name}: models loaded in {time.perf_counter() - started:.2f} s")
    if args.per_type > 0:
        accuracy(args.per_type, args.seed, args.show_misses)
    if args.timing_photos > 0:
        timing(args.timing_photos)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
