"""Report → registered through the API: POST /api/v1/claims latency on a seeded scheme.

Each report is registered (coverage check), gets its consolidated missing-documents notice
and answers `documents_pending` in the same request. Runs the platform app in a subprocess
as `xiaobao serve` does, against SQLite and PostgreSQL, one client.

Usage: python -m bench.claim_report [--reports N] [--members N] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from backoffice.services import demo
from bench.common import DEFAULT_PG_URL, fresh_database, percentile, pg_reachable, print_table

ROOT = Path(__file__).resolve().parent.parent


def report_body(policy_no: str, id_number: str, today: date, n: int) -> dict[str, Any]:
    incident = today - timedelta(days=5 + n % 20)
    return {
        "policy_no": policy_no, "insured_id_number": id_number,
        "claim_type": "hospital_allowance", "incident_date": incident.isoformat(),
        "incident_place": "潮南区峡山街道", "description": "在家中滑倒，右腕骨折住院",
        "reporter": {"name": "陈美玲", "relation": "child", "phone": "13812345678"},
        "channel": "wechat",
        "facts": {"admission_date": incident.isoformat(),
                  "discharge_date": (incident + timedelta(days=4)).isoformat()},
    }


async def client(base: str, token: str, bodies: list[dict[str, Any]], warmup: int
                 ) -> list[float]:
    import aiohttp

    out: list[float] = []
    async with aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {token}"}) as s:
        for n, body in enumerate(bodies):
            headers = {"Idempotency-Key": str(uuid.uuid4())}
            started = time.perf_counter()
            async with s.post("/api/v1/claims", json=body, headers=headers) as resp:
                answer = await resp.json()
            if resp.status != 201 or answer["status"] != "documents_pending":
                raise SystemExit(f"unexpected answer {resp.status}: {answer}")
            if n >= warmup:
                out.append((time.perf_counter() - started) * 1000)
    return out


def run(url: str, members: int, reports: int, warmup: int) -> list[float]:
    db = fresh_database(url)
    seeded = demo.seed(db, members, 1)
    ids = _member_ids(db, seeded.group_policy_no)
    db.dispose()
    today = date.today()
    bodies = [report_body(seeded.group_policy_no, ids[i % len(ids)], today, i)
              for i in range(warmup + reports)]
    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="xiaobao-bench-claims-") as var_dir:
        env = {**os.environ, "XIAOBAO_DATABASE_URL": url, "XIAOBAO_API_TOKEN": token,
               "XIAOBAO_VAR_DIR": var_dir, "XIAOBAO_LOG_LEVEL": "INFO"}
        log = Path(var_dir) / "server.log"
        server = subprocess.Popen([sys.executable, "-m", "bench.policy_lookup", "--serve"],
                                  env=env, stdout=subprocess.PIPE, stderr=log.open("w"),
                                  text=True, cwd=ROOT)
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if not line.startswith("LISTENING "):
                raise SystemExit(f"the app did not start: {line!r}")
            base = f"http://127.0.0.1:{int(line.split()[1])}"
            try:
                return asyncio.run(client(base, token, bodies, warmup))
            except SystemExit:
                print("".join(log.read_text().splitlines(keepends=True)[-30:]))
                raise
        finally:
            server.terminate()
            server.wait(timeout=30)


def _member_ids(db: Any, policy_no: str) -> list[str]:
    from sqlalchemy import select

    from backoffice.store.models import Party, PolicyRow, RosterMember

    with db.read() as s:
        return list(s.execute(
            select(Party.id_number).join(RosterMember, RosterMember.party_id == Party.id)
            .join(PolicyRow, PolicyRow.id == RosterMember.policy_id)
            .where(PolicyRow.policy_no == policy_no).order_by(Party.id)).scalars())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--postgres-url", default=DEFAULT_PG_URL + "_claims")
    args = ap.parse_args(argv)
    rows = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = f"sqlite:///{tempfile.mkdtemp(prefix='xiaobao-bench-')}/claims.db"
        else:
            problem = pg_reachable(args.postgres_url)
            if problem:
                print(f"postgresql skipped: {problem}")
                continue
            url = args.postgres_url
        print(f"{backend}: seeding {args.members:,} insureds, then {args.reports:,} reports …",
              flush=True)
        ms = sorted(run(url, args.members, args.reports, args.warmup))
        rows.append((backend, len(ms), f"{percentile(ms, 50):.1f}", f"{percentile(ms, 95):.1f}",
                     f"{percentile(ms, 99):.1f}", f"{ms[-1]:.1f}",
                     f"{len(ms) / (sum(ms) / 1000):.0f}"))
    print("POST /api/v1/claims (report → registered, missing-documents notice), one client")
    print_table(("backend", "reports", "p50 ms", "p95 ms", "p99 ms", "max ms", "reports/s"),
                rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
