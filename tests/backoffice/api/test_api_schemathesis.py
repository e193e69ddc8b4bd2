"""schemathesis against the generated API document, on a real platform process.

`xiaobao serve` runs on a seeded SQLite database; schemathesis reads /api/v1/openapi.json from
it and sends, for every operation, a bounded number of generated requests (valid and invalid,
with the service token). Two checks must hold for every answer: no server error, and every
answer fits the schema the document gives for its status.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.channels.channel_kit import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "schemathesis-token-0123456789"
EXAMPLES = 8  # per operation and phase: the run stays well under three minutes


@pytest.fixture
def platform(tmp_path: Path) -> str:
    env = {**os.environ, "XIAOBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
           "XIAOBAO_API_TOKEN": TOKEN, "XIAOBAO_VAR_DIR": str(tmp_path),
           "XIAOBAO_RASA_URL": "http://127.0.0.1:9", "XIAOBAO_LOG_LEVEL": "WARNING"}
    env.pop("XIAOBAO_WECHAT_TOKEN", None)
    cli = [sys.executable, "-m", "xiaobao.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, cwd=ROOT,
                   capture_output=True)
    subprocess.run([*cli, "demo", "seed"], env=env, check=True, cwd=ROOT, capture_output=True)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([*cli, "serve", "--port", str(port), "--no-scheduler"],
                               env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/healthz", process, "the platform")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_no_server_error_and_every_answer_fits_the_document(platform: str,
                                                           tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a dev dependency (pyproject.toml)"
    result = subprocess.run(
        [schemathesis, "--no-color", "run", f"{platform}/api/v1/openapi.json",
         "--checks", "not_a_server_error,response_schema_conformance",
         "--max-examples", str(EXAMPLES), "--seed", "20261206",
         "--phases", "examples,coverage,fuzzing",
         "--header", f"Authorization: Bearer {TOKEN}",
         "--request-timeout", "30", "--suppress-health-check", "all",
         "--generation-database", "none"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-8000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", out)
    assert counts, out[-3000:]
    generated, passed = map(int, counts.groups())
    assert generated == passed and generated >= 20 * EXAMPLES, out[-3000:]
