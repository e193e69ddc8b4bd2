"""`xiaobao scheduler` exactly as the command line runs it, with one job of its own: `tick`,
every 2 seconds, writing one outbox event per firing it runs (for the failover test).

    python scheduler_role_process.py --port P --standby-poll S   (XIAOBAO_* from the env)
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any

from backoffice.scheduler.jobs import JobSpec, Runtime
from backoffice.services.base import emit
from xiaobao import cli, roles


def tick(rt: Runtime, at: datetime) -> dict[str, Any]:
    with rt.db.transaction() as s:
        emit(s, "scheduler.tick", {"at": at.isoformat(), "owner": rt.owner})
    return {"owner": rt.owner}


TICK = JobSpec("tick", {"second": "*/2"}, tick, slot="time", misfire_grace=10,
               lookback=timedelta(seconds=30))

if __name__ == "__main__":
    roles.SCHEDULED = (TICK,)
    sys.exit(cli.main(["scheduler", *sys.argv[1:]]))
