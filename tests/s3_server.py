"""moto's S3 server as a real process (a pytest plugin, registered in tests/conftest.py): the
object-store tests speak the S3 protocol over HTTP to it, as the platform would to AWS S3 or
MinIO. One server per session; each test gets a bucket of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.channels.channel_kit import free_port, wait_until_up

MOTO = Path(sys.executable).parent / "moto_server"
#: moto takes any credentials; boto3 needs some (the standard variables, as in production)
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "demo-only", "AWS_SECRET_ACCESS_KEY": "demo-only",
               "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """http://127.0.0.1:<port> of a moto S3 server started for this session."""
    if not MOTO.exists():
        pytest.fail(f"{MOTO} missing: pip install 'moto[server]' (the dev extra)")
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    proc = subprocess.Popen([str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/moto-api/", proc, "moto_server")
        yield url
    finally:
        proc.terminate()
        proc.wait()
        log.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    """A plain boto3 client on the moto server, to look at what the store wrote."""
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def s3_bucket(s3: Any) -> str:
    """A fresh, empty bucket."""
    name = f"docs-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name
