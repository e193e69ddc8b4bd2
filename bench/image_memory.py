"""What one uploaded picture adds to the platform's memory while it is read.

Starts a real platform (`xiaobao serve`, fresh SQLite database with the demo data, the real
OCR models), reports a claim, reads one ordinary photo first (the models load on first use),
then uploads, one at a time, the largest pictures the platform takes (RGB PNG just under the
pixel limit, RGBA and palette PNGs at their budget, baseline and progressive JPEG) and
decompression bombs (small files declaring huge dimensions). For each upload it prints the
answer, the process's resident memory before it (baseline, VmRSS) and its peak during it
(VmHWM, reset before each upload through /proc/<pid>/clear_refs), and the difference.

    .venv/bin/python -m bench.image_memory [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform as host
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
XIAOBAO = [sys.executable, "-m", "xiaobao.cli"]
TOKEN = "bench-image-memory-token"


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"no {field} for {pid}")


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def picture(fmt: str, width: int, height: int, mode: str = "RGB", **save: object) -> bytes:
    """A mostly white page with lines of text: compresses well, decodes to every pixel."""
    img = Image.new(mode, (width, height), "white" if mode != "P" else 0)
    draw = ImageDraw.Draw(img)
    ink = 1 if mode == "P" else "black"
    for y in range(80, height, 300):
        draw.text((80, y), "出院小结 2026-11-22 住院 10 天 1234.50", fill=ink)
    out = io.BytesIO()
    img.save(out, fmt, **save)
    return out.getvalue()


CASES: list[tuple[str, str, int, int, str, dict[str, object]]] = [
    ("largest RGB PNG (39.9 MP)", "PNG", 7300, 5470, "RGB", {}),
    ("largest RGBA PNG (19.9 MP)", "PNG", 4470, 4470, "RGBA", {}),
    ("largest palette PNG (17.6 MP)", "PNG", 4200, 4200, "P", {}),
    ("largest JPEG (39.9 MP)", "JPEG", 7300, 5470, "RGB", {"quality": 90}),
    ("largest progressive JPEG", "JPEG", 7300, 5470, "RGB", {"progressive": True}),
    ("largest lossless WebP (10.0 MP)", "WEBP", 3650, 2740, "RGB", {"lossless": True}),
    ("largest lossy WebP (10.0 MP)", "WEBP", 3650, 2740, "RGB", {}),
    ("largest LA PNG (19.9 MP)", "PNG", 4470, 4470, "LA", {}),
    ("largest CMYK JPEG (17.6 MP)", "JPEG", 4200, 4200, "CMYK", {}),
    ("bomb: the issue's PNG 7700×7700", "PNG", 7700, 7700, "RGB", {}),
    ("bomb: lossless WebP 7200×5500", "WEBP", 7200, 5500, "RGB", {"lossless": True}),
    ("bomb: PNG 30000×30000", "PNG", 30000, 30000, "L", {}),
    ("bomb: JPEG 20000×20000", "JPEG", 20000, 20000, "RGB", {}),
]


def _request(base: str, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(base + path, data=body, method=method, headers={
        "Authorization": f"Bearer {TOKEN}", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _upload(base: str, claim_no: str, data: bytes) -> tuple[int, dict[str, object]]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"picture\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return _request(base, "POST", f"/api/v1/claims/{claim_no}/documents", body,
                    {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def _start(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "XIAOBAO_FILES_DEMO_KEY": "1",  # documents under a demo key
           "XIAOBAO_DATABASE_URL": f"sqlite:///{workdir / 'images.db'}",
           "XIAOBAO_VAR_DIR": str(workdir), "XIAOBAO_API_TOKEN": TOKEN,
           "XIAOBAO_RASA_URL": "http://127.0.0.1:9", "XIAOBAO_WECHAT_TOKEN": "",
           "XIAOBAO_LOG_LEVEL": "WARNING"}
    seeded = subprocess.run([*XIAOBAO, "demo", "seed", "--members", "50"], env=env, cwd=ROOT,
                            check=True, capture_output=True, text=True)
    demo = json.loads(seeded.stdout.strip().splitlines()[-1])
    port = _free_port()
    proc = subprocess.Popen([*XIAOBAO, "serve", "--port", str(port), "--no-scheduler"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                break
        except urllib.error.HTTPError:  # 503: serving, without a bot
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the platform did not start") from None
            time.sleep(0.3)
    incident = (date.today() - timedelta(days=10)).isoformat()
    status, claim = _request(base, "POST", "/api/v1/claims", json.dumps({
        "policy_no": demo["group_policy_no"], "insured_id_number": demo["sample_id_numbers"][0],
        "claim_type": "medical", "incident_date": incident, "incident_place": "峡山街道",
        "description": "摔倒受伤", "channel": "wechat",
        "reporter": {"name": "林小红", "relation": "child", "phone": "13811112222"},
    }).encode(), {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex})
    assert status == 201, claim
    return proc, f"{base}|{claim['claim_no']}"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    print(f"{host.node()} · {os.cpu_count()} cores · {date.today().isoformat()}")
    with tempfile.TemporaryDirectory() as tmp:
        proc, where = _start(Path(tmp))
        base, claim_no = where.split("|")
        try:
            started = _status(proc.pid, "VmRSS")
            status, _ = _upload(base, claim_no, picture("JPEG", 1600, 1200))
            print(f"started at {started} MB; after a first ordinary photo (models loaded, "
                  f"{status}) {_status(proc.pid, 'VmRSS')} MB")
            print(f"{'picture':34} {'file':>8} {'answer':>6} {'baseline':>9} {'peak':>7} "
                  f"{'added':>7}")
            for name, fmt, width, height, mode, save in CASES:
                data = picture(fmt, width, height, mode, **save)
                baseline = _status(proc.pid, "VmRSS")
                _reset_peak(proc.pid)
                status, answer = _upload(base, claim_no, data)
                peak = _status(proc.pid, "VmHWM")
                code = answer.get("error", {}).get("code", "") if status >= 400 else ""
                print(f"{name:34} {len(data) // 1024:>6}KB {status:>6} {baseline:>7}MB "
                      f"{peak:>5}MB {peak - baseline:>5}MB {code}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
