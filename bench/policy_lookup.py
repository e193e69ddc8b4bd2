"""Policy lookup benchmark: `policies_for_id_number` with 1,000,000 insureds.

For each backend this populates a database (or reuses one with --keep): the CN-ELDER-ACC group
policy with N insureds on its roster, plus individual PA-GUARD policies — a few hundred made
through the real services (apply → underwrite → pay → issue), the rest cloned from those with
Core inserts (policies, coverages, instalments, payments: what the services write). Then it
times `lookup.policies_for_id_number` for random existing ID numbers, holders of individual
policies and unknown (valid) ID numbers after a warm-up, and `GET /api/v1/policies?id_number=`
against the aiohttp platform app started in a subprocess, with one sequential client.

    .venv/bin/python -m bench.policy_lookup --keep          # full size, both backends
    .venv/bin/python -m bench.policy_lookup --insureds 50000 --individual 500 --backends sqlite

Target (issue): p99 ≤ 5 ms at 1,000,000 insureds.

The bench's setup does not use the import service: parties go in with SQLAlchemy Core
executemany (SQLite) or COPY (PostgreSQL), roster rows with one INSERT … SELECT.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Date, Integer, String, Table, func, insert, literal, select, text, update

from backoffice.demo.people import Person, generate_people, generate_people_turning
from backoffice.domain.identity import age_on
from backoffice.services import group, lookup, policies
from backoffice.services.base import today_cn
from backoffice.store import fieldseal
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    Counter,
    Party,
    Payment,
    PolicyCoverage,
    PolicyRow,
    PremiumInstalment,
    RosterMember,
    utcnow,
)
from bench.common import (
    SCHEME_APPLICANT,
    SCHEME_PRODUCT,
    fresh_database,
    percentile,
    pg_reachable,
    print_table,
    scheme_start,
)

FULL_INSUREDS = 1_000_000
DEFAULT_PG_URL = "postgresql+psycopg://postgres@localhost:5432/bench_lookup"
DEFAULT_SQLITE = Path("var/bench/policy_lookup.db")
TARGET_P99_MS = 5.0
META = "bench_meta"  # one row describing the population, so --keep can reuse it
CHUNK = 50_000
NO_HEALTH = {"hospitalised_now": False, "disability_existing": False, "epilepsy": False,
             "hypertension": False, "diabetes": False}
PLANS: tuple[tuple[str, str, dict[str, bool], int], ...] = (
    ("single", "annual", NO_HEALTH, 1),
    ("instalments", "monthly", {**NO_HEALTH, "hypertension": True}, 2),
    ("auto_debit", "quarterly", NO_HEALTH, 1),
)


@dataclass(frozen=True)
class Plan:
    insureds: int
    individual: int
    via_services: int
    seed: int


@dataclass
class Population:
    plan: Plan
    group_policy_no: str
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------


def _read_meta(db: Database) -> Population | None:
    with db.engine.connect() as conn:
        try:
            raw = conn.execute(text(f"SELECT value FROM {META} WHERE key = 'population'")).scalar()
        except Exception:
            return None
    if raw is None:
        return None
    data = json.loads(raw)
    return Population(Plan(**data["plan"]), data["group_policy_no"], data["seconds"],
                      data["notes"])


def _write_meta(db: Database, population: Population) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {META} "
                          "(key VARCHAR(40) PRIMARY KEY, value TEXT NOT NULL)"))
        conn.execute(text(f"DELETE FROM {META}"))
        conn.execute(text(f"INSERT INTO {META} (key, value) VALUES ('population', :v)"),
                      {"v": json.dumps(asdict(population), ensure_ascii=False)})


def _chunks(items: Iterable[Person], size: int) -> Iterator[list[Person]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _party_row(p: Person, now: Any, sealed: bool = False) -> tuple[Any, ...]:
    """A party's values; the ID and phone numbers sealed here when `sealed` (COPY writes
    the stored text), else by the column type on the way in, and hashed either way."""
    idn, phone = p.id_number, p.phone
    if sealed:
        idn = fieldseal.seal("id_number", idn)
        phone = None if phone is None else fieldseal.seal("phone", phone)
    return (p.name, p.gender, p.birth_date, idn, keyed_hash("id_number", p.id_number), phone,
            keyed_hash("phone", p.phone), p.address, p.occupation, p.occupation_class, now, now)


_PARTY_COLUMNS = ("name", "gender", "birth_date", "id_number", "id_number_hash", "phone",
                  "phone_hash", "address", "occupation", "occupation_class", "created_at",
                  "updated_at")


def _insert_parties(db: Database, people: Iterable[Person], keep: int,
                    wanted: Any) -> list[Person]:
    """All people as parties; returns up to `keep` of those for which `wanted(person)`."""
    kept: list[Person] = []
    now = utcnow()
    if db.is_sqlite:
        table: Table = Party.__table__  # type: ignore[assignment]
        with db.engine.begin() as conn:
            for chunk in _chunks(people, CHUNK):
                conn.execute(insert(table), [dict(zip(_PARTY_COLUMNS, _party_row(p, now),
                                                      strict=True)) for p in chunk])
                kept.extend(p for p in chunk if len(kept) < keep and wanted(p))
        return kept
    raw = db.engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()  # type: ignore[union-attr]
        with cur.copy(f"COPY parties ({', '.join(_PARTY_COLUMNS)}) FROM STDIN") as copy:
            for p in people:
                copy.write_row(_party_row(p, now, sealed=True))
                if len(kept) < keep and wanted(p):
                    kept.append(p)
        raw.commit()
    finally:
        raw.close()
    return kept


def _enroll_everyone(db: Database, policy_no: str, enrolled_on: date) -> None:
    roster: Table = RosterMember.__table__  # type: ignore[assignment]
    parties: Table = Party.__table__  # type: ignore[assignment]
    with db.engine.begin() as conn:
        policy_id = conn.execute(
            select(PolicyRow.id).where(PolicyRow.policy_no == policy_no)).scalar_one()
        rows = select(literal(policy_id, Integer()), parties.c.id, literal(enrolled_on, Date()),
                      literal("active", String()), literal("import", String())
                      ).order_by(parties.c.id)
        conn.execute(insert(roster).from_select(
            ["policy_id", "party_id", "enrolled_on", "status", "source"], rows))


def _issue_via_services(db: Database, people: Sequence[Person]) -> list[str]:
    """PA-GUARD policies through apply → run_underwriting → record_payment → issue."""
    issued = []
    for i, person in enumerate(people):
        mode, freq, health, occ = PLANS[i % len(PLANS)]
        request: dict[str, Any] = {
            "product_code": "PA-GUARD",
            "insured": {"name": person.name, "id_number": person.id_number,
                        "phone": person.phone, "address": person.address,
                        "occupation": person.occupation, "occupation_class": occ},
            "coverages": [{"code": "accidental_death_disability", "sum_insured": "50000.00"},
                          {"code": "hospital_allowance", "sum_insured": "100.00"}],
            "payment_mode": mode, "frequency": freq, "health_declarations": health,
        }
        if mode == "auto_debit":
            request["debit_account"] = "6222020200112233446"  # passes Luhn; bench only
        app = policies.apply(db, request, "bench")
        ref = {"application_no": app["application_no"]}
        uw = policies.run_underwriting(db, ref, "bench")
        if uw["status"] != "accepted":
            continue
        policies.record_payment(db, {**ref, "amount": uw["premium"]["instalment"],
                                     "method": "bank_transfer",
                                     "reference": f"BENCH-{app['application_no']}"}, "bench")
        issued.append(policies.issue(db, ref, "bench")["policy_no"])
    return issued


def _rows_of(conn: Any, table: Table, where: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(table).where(where))]


def _series(no: str, prefix: str, year: int) -> tuple[str, int, int]:
    """('P2026', width, value) of a number made by services.base.number."""
    head = f"{prefix}{year}"
    return head, len(no) - len(head), int(no[len(head):])


def _clone_policies(db: Database, templates: Sequence[str], people: Sequence[Person]) -> int:
    """Individual policies for `people`, each a copy of one template policy (made by the
    services) with its coverages, instalments and payments: new numbers, new insured. Number
    series are advanced as the services would. Audit entries and outbox events are not
    cloned."""
    if not people or not templates:
        return 0
    pol: Table = PolicyRow.__table__  # type: ignore[assignment]
    cov: Table = PolicyCoverage.__table__  # type: ignore[assignment]
    inst: Table = PremiumInstalment.__table__  # type: ignore[assignment]
    pay: Table = Payment.__table__  # type: ignore[assignment]
    parties: Table = Party.__table__  # type: ignore[assignment]
    year = today_cn().year
    now = utcnow()
    with db.engine.begin() as conn:
        tpl = []
        for no in templates:
            row = _rows_of(conn, pol, pol.c.policy_no == no)[0]
            tpl.append((row, _rows_of(conn, cov, cov.c.policy_id == row["id"]),
                        _rows_of(conn, inst, inst.c.policy_id == row["id"]),
                        _rows_of(conn, pay, pay.c.policy_id == row["id"])))
        ids: dict[str, int] = {}
        hashes = [keyed_hash("id_number", p.id_number) for p in people]
        for i in range(0, len(hashes), 5000):
            ids.update((idn, pid) for pid, idn in conn.execute(
                select(parties.c.id, parties.c.id_number)
                .where(parties.c.id_number_hash.in_(hashes[i:i + 5000]))))
        last = conn.execute(select(pol.c.application_no, pol.c.policy_no)
                            .where(pol.c.kind == "individual").order_by(pol.c.id.desc())
                            .limit(1)).one()
        a_head, a_width, a_next = _series(last.application_no, "A", year)
        p_head, p_width, p_next = _series(last.policy_no, "P", year)
        new_policies = []
        for i, person in enumerate(people):
            row = dict(tpl[i % len(tpl)][0])
            del row["id"]
            a_next, p_next = a_next + 1, p_next + 1
            row.update(application_no=f"{a_head}{a_next:0{a_width}d}",
                       policy_no=f"{p_head}{p_next:0{p_width}d}",
                       insured_party_id=ids[person.id_number],
                       applicant_party_id=ids[person.id_number], applicant_name=person.name,
                       created_at=now, updated_at=now, issued_at=now)
            new_policies.append(row)
        conn.execute(insert(pol), new_policies)
        new_ids: dict[str, int] = dict(conn.execute(  # type: ignore[arg-type]
            select(pol.c.policy_no, pol.c.id).where(pol.c.kind == "individual")).all())
        coverages, instalments = [], []
        for i, row in enumerate(new_policies):
            pid = new_ids[row["policy_no"]]
            _, covs, insts, _ = tpl[i % len(tpl)]
            coverages += [{**{k: v for k, v in c.items() if k != "id"}, "policy_id": pid}
                          for c in covs]
            instalments += [{**{k: v for k, v in n.items() if k != "id"}, "policy_id": pid}
                            for n in insts]
        conn.execute(insert(cov), coverages)
        if instalments:
            conn.execute(insert(inst), instalments)
        seq_ids = {(p, s): i for i, p, s in conn.execute(
            select(inst.c.id, inst.c.policy_id, inst.c.seq))}
        payments = []
        for i, row in enumerate(new_policies):
            pid = new_ids[row["policy_no"]]
            _, _, insts, pays = tpl[i % len(tpl)]
            seq_of = {n["id"]: n["seq"] for n in insts}
            for p in pays:
                copy = {k: v for k, v in p.items() if k != "id"}
                copy["policy_id"] = pid
                if p["instalment_id"] is not None:
                    copy["instalment_id"] = seq_ids[(pid, seq_of[p["instalment_id"]])]
                payments.append(copy)
        if payments:
            conn.execute(insert(pay), payments)
        for name, value in ((a_head, a_next), (p_head, p_next)):
            conn.execute(update(Counter.__table__).where(Counter.__table__.c.name == name)
                         .values(value=value))
    return len(new_policies)


def populate(db: Database, plan: Plan, log: Any) -> Population:
    today = today_cn()
    start = scheme_start(today)
    tomorrow = today + timedelta(days=1)
    policy_no = group.create_group_policy(db, {
        "product_code": SCHEME_PRODUCT, "applicant_name": SCHEME_APPLICANT,
        "start_date": start.isoformat()}, "bench")["policy_no"]
    population = Population(plan, policy_no)

    def step(name: str, started: float) -> None:
        population.seconds[name] = round(time.perf_counter() - started, 1)
        log(f"  {name}: {population.seconds[name]:.1f} s")

    t = time.perf_counter()
    people = generate_people(plan.insureds, plan.seed, start)
    # individual cover for people of 60–69 (PA-GUARD takes them up to 75), spread over the file
    stride = max(1, plan.insureds // max(1, plan.individual * 4))
    counter = iter(range(plan.insureds))
    candidates = _insert_parties(
        db, people, plan.individual,
        lambda p: next(counter) % stride == 0 and age_on(p.birth_date, tomorrow) <= 69)
    how = "SQLAlchemy Core executemany" if db.is_sqlite else "PostgreSQL COPY"
    step(f"parties ({how}, incl. generating the people)", t)
    t = time.perf_counter()
    _enroll_everyone(db, policy_no, max(today, start))
    step("roster members (one INSERT … SELECT)", t)
    t = time.perf_counter()
    issued = _issue_via_services(db, candidates[:plan.via_services])
    step(f"{len(issued)} individual policies via the services", t)
    t = time.perf_counter()
    cloned = _clone_policies(db, issued, candidates[plan.via_services:])
    step(f"{cloned} individual policies cloned with Core inserts", t)
    if not db.is_sqlite:
        t = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        step("VACUUM ANALYZE (what autovacuum would do after the load)", t)
    population.notes = [
        f"{plan.insureds:,} insureds (generate_people seed {plan.seed}) inserted as parties with "
        f"{how}, all on the roster of group policy {policy_no} (one INSERT … SELECT; not "
        f"through import_roster)",
        f"{len(issued)} individual PA-GUARD policies through the real services "
        f"(apply → run_underwriting → record_payment → issue)",
        f"{cloned:,} more cloned from those with Core inserts (policies, coverages, instalments, "
        f"payments; no audit/outbox rows), for people aged 60–69",
    ]
    _write_meta(db, population)
    return population


def prepare(url: str, plan: Plan, keep: bool, log: Any) -> tuple[Database, Population, bool]:
    if keep:
        db = Database(url)
        existing = _read_meta(db)
        if existing is not None and existing.plan == plan:
            return db, existing, True
        db.dispose()
        log("  no reusable population: populating")
    db = fresh_database(url)
    return db, populate(db, plan, log), False


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------


def pick_samples(db: Database, n_random: int, n_individual: int, n_unknown: int,
                 seed: int) -> list[tuple[str, str]]:
    """(category, ID number) pairs, shuffled: random insureds, holders of individual
    policies, valid ID numbers nobody has."""
    rng = random.Random(seed)
    parties: Table = Party.__table__  # type: ignore[assignment]
    pol: Table = PolicyRow.__table__  # type: ignore[assignment]
    with db.engine.connect() as conn:
        holders = set(conn.execute(
            select(parties.c.id_number).join(pol, pol.c.insured_party_id == parties.c.id)
            .where(pol.c.kind == "individual", pol.c.policy_no.is_not(None))).scalars())
        low, high = conn.execute(select(func.min(parties.c.id), func.max(parties.c.id))).one()
        wanted = rng.sample(range(low, high + 1), min(n_random, high - low + 1))
        randoms: list[str] = []
        for i in range(0, len(wanted), 5000):
            randoms += conn.execute(select(parties.c.id_number)
                                    .where(parties.c.id.in_(wanted[i:i + 5000]))).scalars()
        unknown = [p.id_number for p in generate_people_turning(n_unknown, seed, today_cn())]
        present = set(conn.execute(select(parties.c.id_number).where(
            parties.c.id_number_hash.in_([keyed_hash("id_number", i) for i in unknown]))
        ).scalars())
    samples = [("group + individual" if i in holders else "group only", i) for i in randoms]
    samples += [("group + individual", i)
                for i in rng.sample(sorted(holders), min(n_individual, len(holders)))]
    samples += [("unknown", i) for i in unknown if i not in present]
    rng.shuffle(samples)
    return samples


@dataclass
class Timings:
    label: str
    ms: list[float]

    def row(self, backend: str) -> list[str]:
        values = sorted(self.ms)
        total = sum(values) / 1000
        return [backend, self.label, f"{len(values):,}", f"{percentile(values, 50):.2f}",
                f"{percentile(values, 95):.2f}", f"{percentile(values, 99):.2f}",
                f"{values[-1]:.2f}", f"{len(values) / total:,.0f}" if total else "-"]


def measure_service(db: Database, samples: Sequence[tuple[str, str]], warmup: int,
                    profile: Path | None) -> list[Timings]:
    expected = {"unknown": (0, 0), "group only": (1, 1), "group + individual": (2, 99)}
    for _, idn in samples[:warmup]:
        lookup.policies_for_id_number(db, {"id_number": idn}, "bench")
    by_category: dict[str, list[float]] = {}
    everything: list[float] = []
    profiler = cProfile.Profile() if profile else None
    clock = time.perf_counter
    for category, idn in samples:
        if profiler:
            profiler.enable()
        started = clock()
        items = lookup.policies_for_id_number(db, {"id_number": idn}, "bench")
        elapsed = (clock() - started) * 1000
        if profiler:
            profiler.disable()
        low, high = expected[category]
        if not low <= len(items) <= high:
            raise SystemExit(f"{idn} ({category}) gave {len(items)} policies")
        by_category.setdefault(category, []).append(elapsed)
        everything.append(elapsed)
    if profiler and profile:
        profile.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(profile)
        print(f"  profile written to {profile}")
    return [Timings("all", everything)] + [Timings(c, by_category[c]) for c in sorted(by_category)]


async def _http_client(base: str, token: str, ids: Sequence[str], warmup: int) -> list[float]:
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    out: list[float] = []
    async with aiohttp.ClientSession(base, headers=headers) as session:
        for n, idn in enumerate([*ids[:warmup], *ids]):
            started = time.perf_counter()
            async with session.get("/api/v1/policies", params={"id_number": idn}) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise SystemExit(f"HTTP {resp.status}: {body[:200]!r}")
            if n >= warmup:
                out.append((time.perf_counter() - started) * 1000)
    return out


def measure_http(url: str, ids: Sequence[str], requests: int, warmup: int) -> Timings:
    """The platform app in a subprocess (production logging and access log), one client."""
    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="xiaobao-bench-http-") as var_dir:
        env = {**os.environ, "XIAOBAO_DATABASE_URL": url, "XIAOBAO_API_TOKEN": token,
               "XIAOBAO_VAR_DIR": var_dir, "XIAOBAO_LOG_LEVEL": "INFO"}
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.policy_lookup", "--serve"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            cwd=Path(__file__).resolve().parent.parent)
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if not line.startswith("LISTENING "):
                raise SystemExit(f"the app did not start: {line!r}")
            base = f"http://127.0.0.1:{int(line.split()[1])}"
            chosen = [ids[i % len(ids)] for i in range(requests)]
            return Timings("HTTP GET /api/v1/policies",
                           asyncio.run(_http_client(base, token, chosen, warmup)))
        finally:
            server.terminate()
            server.wait(timeout=30)


def serve() -> None:
    """Subprocess side of measure_http: the platform app as `xiaobao serve` runs it."""
    from aiohttp import web

    from xiaobao import logs
    from xiaobao.config import Settings
    from xiaobao.platform import create_app

    settings = Settings.from_env()
    logs.configure(settings.log_level)
    app = create_app(settings, Database(settings.database_url))

    async def run() -> None:
        runner = web.AppRunner(app, access_log_format='%a "%r" %s %b %Tfs')
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"LISTENING {runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--insureds", type=int, default=FULL_INSUREDS,
                    help=f"insureds on the group roster (default {FULL_INSUREDS:,})")
    ap.add_argument("--individual", type=int, default=5000,
                    help="individual policies in all (default 5,000)")
    ap.add_argument("--via-services", type=int, default=300,
                    help="of which made through the real services (default 300)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lookups", type=int, default=5000, help="random existing ID numbers")
    ap.add_argument("--holders", type=int, default=500,
                    help="extra lookups of individual-policy holders")
    ap.add_argument("--unknown", type=int, default=500, help="lookups of unknown ID numbers")
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--http-requests", type=int, default=2000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--postgres-url", default=DEFAULT_PG_URL,
                    help=f"its schema public is replaced when (re)populating; "
                         f"default {DEFAULT_PG_URL}")
    ap.add_argument("--sqlite-path", type=Path, default=DEFAULT_SQLITE,
                    help=f"database file kept with --keep (default {DEFAULT_SQLITE})")
    ap.add_argument("--keep", action="store_true",
                    help="reuse a populated database with the same parameters, and keep it")
    ap.add_argument("--profile", type=Path, metavar="DIR",
                    help="cProfile dump of the measured lookups into DIR")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve()
        return 0
    plan = Plan(args.insureds, args.individual, min(args.via_services, args.individual),
                args.seed)
    rows: list[list[str]] = []
    notes: list[str] = []

    def log(message: str) -> None:
        print(message, flush=True)

    with tempfile.TemporaryDirectory(prefix="xiaobao-bench-") as tmp:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend == "sqlite":
                path = args.sqlite_path if args.keep else Path(tmp) / "lookup.db"
                url = f"sqlite:///{path.resolve()}"
            elif backend == "postgresql":
                problem = pg_reachable(args.postgres_url)
                if problem:
                    notes.append(f"postgresql skipped: {args.postgres_url} unreachable "
                                 f"({problem})")
                    print(notes[-1])
                    continue
                url = args.postgres_url
            else:
                ap.error(f"unknown backend {backend!r}")
            log(f"[{backend}] {url}")
            db, population, reused = prepare(url, plan, args.keep, log)
            try:
                log(f"[{backend}] population {'reused' if reused else 'made'}: "
                    + "; ".join(population.notes))
                if reused:
                    log(f"  (it took {sum(population.seconds.values()):.0f} s to make)")
                samples = pick_samples(db, args.lookups, args.holders, args.unknown,
                                       args.seed)
                log(f"[{backend}] {len(samples):,} lookups after {args.warmup} warm-up")
                profile = args.profile / f"policy_lookup-{backend}.prof" if args.profile \
                    else None
                for timing in measure_service(db, samples, args.warmup, profile):
                    rows.append(timing.row(backend))
                known = [i for c, i in samples if c != "unknown"]
                log(f"[{backend}] {args.http_requests:,} HTTP requests")
                rows.append(measure_http(url, known, args.http_requests, 100).row(backend))
            finally:
                db.dispose()

    print()
    print(f"Policy lookup by ID number, {plan.insureds:,} insureds, {plan.individual:,} "
          f"individual policies (target p99 ≤ {TARGET_P99_MS:.0f} ms); times in ms")
    print_table(["backend", "what", "n", "p50", "p95", "p99", "max", "per s"], rows)
    load1, load5, _ = os.getloadavg()
    print(f"load average at the end: {load1:.2f} (1 min), {load5:.2f} (5 min) on "
          f"{os.cpu_count()} CPUs")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
