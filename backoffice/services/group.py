"""Group policies (团体保单): the contract, its roster, bulk import and auto-enrollment."""

from __future__ import annotations

import csv
import json
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import WithJsonSchema
from sqlalchemy import Date, and_, bindparam, exists, func, insert, select, text
from sqlalchemy.orm import Session

from backoffice.domain import roster as rr
from backoffice.domain.errors import Conflict, DomainError, NotFound, ValidationError
from backoffice.domain.money import fmt, from_fen, to_fen
from backoffice.domain.party import PersonData
from backoffice.domain.policy import COVERED, IN_FORCE, add_months
from backoffice.domain.product import Product
from backoffice.domain.rating import group_quote
from backoffice.domain.roster import (
    ROSTER_COLUMNS,
    RowError,
    check_header,
    enrollment_date,
    parse_row,
)
from backoffice.services import integrity as integrity_service
from backoffice.services.base import audit, business_date, emit, number, today_cn
from backoffice.services.commands import (
    Command,
    Day,
    IdNumber,
    Reference,
    Text,
    domain_rule,
    takes,
)
from backoffice.services.policies import ProductCode, load_policy, quote_view
from backoffice.services.products import load_product
from backoffice.store import fieldseal
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    ClaimEvent,
    ClaimRow,
    Party,
    PolicyCoverage,
    PolicyRow,
    Resident,
    RosterMember,
    UTCDateTime,
    utcnow,
)

BATCH = 5000


class CreateGroupPolicy(Command):
    """A group contract: the sponsoring body, the day cover starts, the group product."""

    applicant_name: Text(100, blank_ok=False)
    start_date: Day
    product_code: ProductCode


@takes(CreateGroupPolicy)
def create_group_policy(db: Database, cmd: CreateGroupPolicy, actor: str) -> dict[str, Any]:
    """A government-sponsored (or employer) contract; its insureds come by roster."""
    applicant_name = cmd.applicant_name
    start_date = business_date(cmd.start_date, "start_date")
    with db.transaction() as s:
        product = load_product(s, cmd.product_code)
        if product.kind != "group":
            raise ValidationError("product_code", f"{product.name}不是团体产品")
        year = start_date.year
        row = PolicyRow(
            application_no=number(s, "A", year, 8), policy_no=number(s, "G", year, 8),
            product_code=product.code, kind="group", status=IN_FORCE,
            applicant_name=applicant_name, applicant_relation="other",
            application_date=start_date - timedelta(days=1), requested_start=start_date,
            start_date=start_date, end_date=add_months(start_date, product.term_months),
            term_months=product.term_months, payment_mode="single", frequency="annual",
            underwriting_outcome="accept", underwriting_reasons=["政府统保，免核保"],
            issued_at=utcnow(),
        )
        s.add(row)
        s.flush()
        for cov in product.coverages:
            s.add(PolicyCoverage(policy_id=row.id, code=cov.code, name=cov.name,
                                 sum_insured_fen=to_fen(cov.default_sum_insured)))
        audit(s, actor, "policy", row.policy_no or "", "issue_group", None,
              {"status": row.status, "applicant": row.applicant_name})
        return {"policy_no": row.policy_no, "product_code": product.code,
                "start_date": start_date.isoformat(), "end_date": row.end_date.isoformat()}


@dataclass
class ImportResult:
    imported: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "skipped": self.skipped,
                "errors": [{"line": e.line, "field": e.field, "message": e.message}
                           for e in self.errors]}


def _group_policy(s: Session, policy_no: str) -> tuple[PolicyRow, Product]:
    row = load_policy(s, policy_no, lock=True)
    if row.kind != "group":
        raise ValidationError("policy_no", f"{policy_no} 不是团体保单")
    if row.status not in COVERED:
        raise DomainError(f"团体保单 {policy_no} 不在有效状态，不能增加被保险人", "policy_no")
    return row, load_product(s, row.product_code)


def _rows(lines: Iterable[str], check: Callable[[list[str] | None], None] = check_header
          ) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; line numbers count the header as 1, as editors do. A row
    with the wrong number of cells comes as {"__columns__": its count}."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except UnicodeDecodeError:
        raise ValidationError("file", "文件不是 UTF-8 编码") from None
    except csv.Error as exc:  # e.g. a first "line" longer than the csv field limit
        raise ValidationError("file", f"第 1 行 CSV 格式错误：{exc}") from None
    check(header)
    assert header is not None
    names = [h.strip().lstrip("\ufeff") for h in header]
    line = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise ValidationError("file", f"文件第 {line + 1} 行附近不是 UTF-8 编码") from None
        except csv.Error as exc:
            raise ValidationError("file", f"第 {reader.line_num} 行 CSV 格式错误：{exc}") from None
        line = reader.line_num
        if not "".join(values).strip():  # every cell blank (same as all(not v.strip()))
            continue
        if len(values) != len(names):
            yield line, {"__columns__": str(len(values))}
            continue
        yield line, dict(zip(names, values, strict=True))


def import_roster(
    db: Database, policy_no: str, lines: Iterable[str], actor: str, today: date | None = None
) -> ImportResult:
    """Stream a roster CSV: validate each row, enroll the good ones, report the bad by line.

    Idempotent: people already on the roster are counted as skipped. A file that cannot be
    read as a whole (no header, not UTF-8) changes nothing.

    The file is read, validated, hashed and sealed on a helper thread (`_read_ahead`) while
    this thread writes the previous batch, so the database works while Python validates and
    seals (every row is sealed, also those already on the roster: a re-import pays that for
    nothing, the first import runs faster). All database work stays on this thread, in one
    transaction.
    """
    today = today or today_cn()
    result = ImportResult()
    with db.transaction() as s:
        policy, product = _group_policy(s, policy_no)
        min_age = product.eligibility.get("min_age")
        enrolled_on = max(today, policy.start_date or today)
        members = set(s.execute(
            select(RosterMember.party_id).where(RosterMember.policy_id == policy.id)
        ).scalars())
        row_errors: list[RowError] = []
        keys = fieldseal.installed()
        with _read_ahead(_hashed(_valid_batches(lines, min_age, enrolled_on, row_errors),
                                 keys)) as batches:
            for batch, rows in batches:
                _enroll(s, policy, batch, rows, members, enrolled_on, "import", result)
        result.errors.extend(row_errors)
        _reprice_group(s, policy, product)
        result.errors.sort(key=lambda e: e.line)
        audit(s, actor, "policy", policy_no, "import_roster", None,
              {"imported": result.imported, "skipped": result.skipped,
               "errors": len(result.errors)})
        if result.imported:
            emit(s, "roster.imported", {"policy_no": policy_no, "imported": result.imported})
    return result


def _valid_batches(lines: Iterable[str], min_age: int | None, enrolled_on: date,
                   errors: list[RowError]) -> Iterator[list[tuple[int, PersonData]]]:
    """The valid rows in batches of BATCH, the last one short (possibly empty); the invalid
    ones go to `errors`. No database access, so it can run on the read-ahead thread."""
    seen: dict[str, int] = {}
    batch: list[tuple[int, PersonData]] = []
    for line, raw in _rows(lines):
        if "__columns__" in raw:
            errors.append(RowError(
                line, "row", f"应有 {len(ROSTER_COLUMNS)} 列，实际 {raw['__columns__']} 列"))
            continue
        nul = next((c for c in ROSTER_COLUMNS if "\x00" in (raw.get(c) or "")), None)
        if nul:  # PostgreSQL text cannot hold NUL; no real value has one
            errors.append(RowError(line, nul, "含有不允许的控制字符"))
            continue
        try:
            person = parse_row(raw, min_age, enrolled_on)
        except ValidationError as exc:
            errors.append(RowError(line, exc.field or "row", exc.message))
            continue
        if person.id_number in seen:
            errors.append(RowError(
                line, "id_number", f"与第 {seen[person.id_number]} 行身份证号重复"))
            continue
        seen[person.id_number] = line
        batch.append((line, person))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    yield batch


def _hashed(batches: Iterator[list[tuple[int, PersonData]]], keys: fieldseal.FieldKeys
            ) -> Iterator[tuple[list[tuple[int, PersonData]], list[tuple[Any, ...]]]]:
    """Each batch with its rows as stored (`_enroll`): the keyed hashes of the ID and phone
    numbers and both numbers sealed, made on the read-ahead thread while the database writes
    the batch before."""
    for batch in batches:
        people = [p for _, p in batch]
        phones = [p.phone for p in people]
        columns = zip(
            people, fieldseal.keyed_hashes("id_number", [p.id_number for p in people], keys),
            fieldseal.seal_many("id_number", [p.id_number for p in people], keys),
            fieldseal.seal_many("phone", phones, keys),
            fieldseal.keyed_hashes("phone", phones, keys), strict=True)
        yield batch, [(p.name, p.gender, p.birth_date.isoformat(), h, idn, phone, phone_hash,
                       p.address, p.occupation, p.occupation_class)
                      for p, h, idn, phone, phone_hash in columns]


_T = TypeVar("_T")
_ITEM, _END, _RAISE = 0, 1, 2


@contextmanager
def _read_ahead(items: Iterator[_T], depth: int = 2) -> Iterator[Iterator[_T]]:
    """Iterate `items` on a helper thread, at most `depth` items ahead of the consumer.

    The consumer sees the same items in the same order, and an exception raised by `items`
    at the same point. Leaving the block early (an error while consuming) stops the helper
    before returning, so nothing touches `items` afterwards.
    """
    handoff: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                handoff.put((_ITEM, item))
                if stop.is_set():
                    return
            handoff.put((_END, None))
        except BaseException as exc:  # handed over, raised by the consumer
            handoff.put((_RAISE, exc))

    def consume() -> Iterator[_T]:
        while True:
            kind, value = handoff.get()
            if kind == _ITEM:
                yield value
            elif kind == _END:
                return
            else:
                raise value

    helper = threading.Thread(target=produce, name="roster-read-ahead", daemon=True)
    with _SWITCH_INTERVAL:
        helper.start()
        try:
            yield consume()
        finally:
            stop.set()
            while helper.is_alive():  # free the slot the helper may be waiting for
                with suppress(queue.Empty):
                    handoff.get(timeout=0.01)
            helper.join()


class _ShortSwitchInterval:
    """Process-wide: threads switch every `seconds` while at least one import runs.

    After each blocking database call the writing thread needs the GIL back from the
    read-ahead thread, which is busy validating; with CPython's default interval it waits up
    to 5 ms each time, several times per batch (3–4 s on the 215,864-member roster). Only
    ever lowers the interval; the previous value returns when the last import ends.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.users = 0
        self.saved = 0.0

    def __enter__(self) -> None:
        with self.lock:
            if self.users == 0:
                self.saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self.saved, self.seconds))
            self.users += 1

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                sys.setswitchinterval(self.saved)


_SWITCH_INTERVAL = _ShortSwitchInterval(0.001)


def _enroll(s: Session, policy: PolicyRow, batch: list[tuple[int, PersonData]],
            rows: list[tuple[Any, ...]], members: set[int], enrolled_on: date, source: str,
            result: ImportResult) -> None:
    """Find or create the parties of a batch, then add those not yet on the roster.

    On SQLite and PostgreSQL a batch travels as one JSON parameter and comes back as one
    JSON value (`_SetSQL`): a few statements per batch whatever its size, no per-row work in
    SQLAlchemy or the driver, and few blocking calls (each one hands the GIL to the
    read-ahead thread). Other databases take the generic executemany path.
    """
    if not batch:
        return
    sql = _SET_SQL.get(s.get_bind().dialect.name)
    if sql is None:
        _enroll_generic(s, policy, batch, members, enrolled_on, source, result)
        return
    hashes = {p.id_number: r[3] for (_, p), r in zip(batch, rows, strict=True)}
    by_hash, created = sql.find_or_create(s, rows, utcnow())
    idn_of = {h: idn for idn, h in hashes.items()}
    known = {idn_of[h]: found for h, found in by_hash.items()}
    for pid, h in created:
        known[idn_of[h]] = (pid, "")
    enroll = _to_enroll(batch, known, members, result)
    if enroll:
        s.execute(sql.enroll, {"policy_id": policy.id, "party_ids": _json(enroll),
                               "enrolled_on": enrolled_on, "source": source})
        result.imported += len(enroll)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# A batch of parties as JSON: [[name, gender, birth_date (ISO), id_number_hash, id_number
# (sealed), phone (sealed), phone_hash, address, occupation, occupation_class], ...]: a
# party is found by the keyed hash of its ID number (fieldseal). Dates as ISO text are what
# SQLAlchemy's SQLite Date stores; PostgreSQL casts them.
_PARTY_INSERT = ("INSERT INTO parties (name, gender, birth_date, id_number_hash, id_number, "
                 "phone, phone_hash, address, occupation, occupation_class, created_at, "
                 "updated_at) ")
_TYPES = (bindparam("now", type_=UTCDateTime()), bindparam("enrolled_on", type_=Date()))


@dataclass(frozen=True)
class _SetSQL:
    """The statements of `_enroll` for one dialect, and how to run the first part."""

    dialect: str
    known: Any  # (id, id_number_hash, name) of the batch's existing parties, one JSON array
    create: Any  # insert the parties not found; PostgreSQL: also the known ones and new ids
    created: Any  # SQLite: (id, id_number_hash) of the parties of the given hashes
    enroll: Any  # roster rows for the given party ids, in their order

    def find_or_create(self, s: Session, rows: list[tuple[Any, ...]], now: Any
                       ) -> tuple[dict[str, tuple[int, str]], list[tuple[int, str]]]:
        """The batch's known parties {id_number_hash: (id, name)}, and (id, id_number_hash)
        of the parties created for the others — the same as a SELECT, then an INSERT of those not
        found, in one transaction."""
        if self.dialect == "postgresql":  # one statement (data-modifying CTE)
            found, new_ids = s.execute(self.create, {"rows": _json(rows),
                                                     "now": now}).one()
            known = {idn: (pid, name) for pid, idn, name in found or ()}
            fresh = [r[3] for r in rows if r[3] not in known]
            return known, list(zip(new_ids or (), fresh, strict=True))
        ids = _json([r[3] for r in rows])
        known = {idn: (pid, name) for pid, idn, name in
                 json.loads(s.execute(self.known, {"ids": ids}).scalar_one())}
        new = [r for r in rows if r[3] not in known]
        if not new:
            return known, []
        s.execute(self.create, {"rows": _json(new), "now": now})
        created = json.loads(s.execute(self.created, {"ids": _json([r[3] for r in new])})
                             .scalar_one())
        return known, [(pid, idn) for pid, idn in created]


_SET_SQL = {
    "sqlite": _SetSQL(
        "sqlite",
        known=text(
            "SELECT json_group_array(json_array(p.id, p.id_number_hash, p.name)) "
            "FROM parties AS p WHERE p.id_number_hash IN (SELECT value FROM json_each(:ids))"),
        create=text(
            _PARTY_INSERT
            + "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
            "json_extract(value, '$[2]'), json_extract(value, '$[3]'), "
            "json_extract(value, '$[4]'), json_extract(value, '$[5]'), "
            "json_extract(value, '$[6]'), json_extract(value, '$[7]'), "
            "json_extract(value, '$[8]'), json_extract(value, '$[9]'), :now, :now "
            "FROM json_each(:rows) ORDER BY key").bindparams(*_TYPES[:1]),
        created=text(
            "SELECT json_group_array(json_array(p.id, p.id_number_hash)) FROM parties AS p "
            "WHERE p.id_number_hash IN (SELECT value FROM json_each(:ids))"),
        enroll=text(
            "INSERT INTO roster_members (policy_id, party_id, enrolled_on, status, source) "
            "SELECT :policy_id, value, :enrolled_on, 'active', :source "
            "FROM json_each(:party_ids) ORDER BY key").bindparams(*_TYPES[1:]),
    ),
    "postgresql": _SetSQL(
        "postgresql",
        known=None,
        create=text(
            "WITH input AS ("
            " SELECT t.ord, t.e ->> 0 AS name, t.e ->> 1 AS gender,"
            " CAST(t.e ->> 2 AS DATE) AS birth_date, t.e ->> 3 AS id_number_hash,"
            " t.e ->> 4 AS id_number, t.e ->> 5 AS phone, t.e ->> 6 AS phone_hash,"
            " t.e ->> 7 AS address, t.e ->> 8 AS occupation,"
            " CAST(t.e ->> 9 AS INTEGER) AS occupation_class"
            " FROM jsonb_array_elements(CAST(:rows AS JSONB)) WITH ORDINALITY AS t(e, ord)"
            "), known AS ("  # = ANY(ARRAY(…)): an index scan, never a hash join
            " SELECT p.id, p.id_number_hash, p.name FROM parties AS p"
            " WHERE p.id_number_hash = ANY (ARRAY(SELECT id_number_hash FROM input))"
            "), created AS ("
            f" {_PARTY_INSERT}"
            " SELECT name, gender, birth_date, id_number_hash, id_number, phone, phone_hash,"
            " address, occupation, occupation_class, :now, :now FROM input"
            " WHERE id_number_hash NOT IN (SELECT id_number_hash FROM known) ORDER BY ord"
            " RETURNING id, id_number_hash"
            ") SELECT"
            " (SELECT json_agg(json_build_array(id, id_number_hash, name)) FROM known),"
            " (SELECT json_agg(c.id ORDER BY i.ord) FROM created AS c"
            "  JOIN input AS i ON i.id_number_hash = c.id_number_hash)")
        .bindparams(*_TYPES[:1]),
        created=None,
        enroll=text(
            "INSERT INTO roster_members (policy_id, party_id, enrolled_on, status, source) "
            "SELECT :policy_id, CAST(t.value AS INTEGER), :enrolled_on, 'active', :source "
            "FROM jsonb_array_elements_text(CAST(:party_ids AS JSONB)) WITH ORDINALITY "
            "AS t(value, ord) ORDER BY t.ord").bindparams(*_TYPES[1:]),
    ),
}


def _enroll_generic(s: Session, policy: PolicyRow, batch: list[tuple[int, PersonData]],
                    members: set[int], enrolled_on: date, source: str,
                    result: ImportResult) -> None:
    """`_enroll` for databases other than SQLite and PostgreSQL: executemany."""
    hashes = {p.id_number: keyed_hash("id_number", p.id_number) for _, p in batch}
    known = {
        idn: (pid, name) for pid, idn, name in s.execute(
            select(Party.id, Party.id_number, Party.name)
            .where(Party.id_number_hash.in_(list(hashes.values()))))
    }
    now = utcnow()
    new = [
        {"name": p.name, "gender": p.gender, "birth_date": p.birth_date,
         "id_number": p.id_number, "id_number_hash": hashes[p.id_number], "phone": p.phone,
         "phone_hash": keyed_hash("phone", p.phone), "address": p.address,
         "occupation": p.occupation, "occupation_class": p.occupation_class,
         "created_at": now, "updated_at": now}
        for _, p in batch if p.id_number not in known
    ]
    if new:
        idn_of = {h: i for i, h in hashes.items()}
        for pid, h in s.execute(insert(Party).returning(Party.id, Party.id_number_hash), new):
            known[idn_of[h]] = (pid, "")
    enroll = [{"policy_id": policy.id, "party_id": pid, "enrolled_on": enrolled_on,
               "status": "active", "source": source}
              for pid in _to_enroll(batch, known, members, result)]
    if enroll:
        s.execute(insert(RosterMember), enroll)
        result.imported += len(enroll)


def _reprice_group(s: Session, policy: PolicyRow, product: Product) -> None:
    count = s.execute(select(func.count()).select_from(RosterMember).where(
        RosterMember.policy_id == policy.id, RosterMember.status == "active")).scalar_one()
    rate = None if policy.premium_per_insured_fen is None else \
        from_fen(policy.premium_per_insured_fen)
    q = group_quote(product, int(count), rate)
    policy.annual_premium_fen = policy.instalment_fen = to_fen(q.annual_premium)
    policy.premium_lines = quote_view(q)["lines"]


class AutoEnroll(Command):
    """Enroll a scheme's newly eligible residents, as of a day (default today)."""

    policy_no: Reference
    as_of: Day | None = None


@takes(AutoEnroll)
def auto_enroll(db: Database, cmd: AutoEnroll, actor: str) -> int:
    """Monthly: residents of the scheme's area who have reached the minimum age are enrolled
    from the 1st of the month after they became eligible — their birthday, or their
    registration in the area when they moved in later — with no application. Idempotent."""
    as_of = business_date(cmd.as_of, "as_of") if cmd.as_of else today_cn()
    policy_no = cmd.policy_no
    with db.transaction() as s:
        policy, product = _group_policy(s, policy_no)
        areas = product.eligibility.get("area_codes") or []
        min_age = int(product.eligibility.get("min_age", 0))
        # enrollment_date(...) <= as_of  ⇔  both the birthday and the registration in the
        # area fell before as_of's month began
        first_of_month = as_of.replace(day=1)
        latest_birth = add_months(first_of_month - timedelta(days=1), -12 * min_age)
        on_roster = exists().where(and_(RosterMember.policy_id == policy.id,
                                        RosterMember.party_id == Party.id))
        due = s.execute(
            select(Party.id, Party.birth_date, Resident.registered_on)
            .join(Resident, Resident.party_id == Party.id)
            .where(Resident.area_code.in_(areas), Party.birth_date <= latest_birth,
                   Resident.registered_on < first_of_month, ~on_roster)
        ).all()
        assert policy.start_date is not None
        rows = [
            {"policy_id": policy.id, "party_id": pid, "status": "active",
             "source": "auto_enrollment",
             "enrolled_on": max(enrollment_date(birth, min_age, registered_on),
                                policy.start_date)}
            for pid, birth, registered_on in due
        ]
        if rows:
            s.execute(insert(RosterMember), rows)
            _reprice_group(s, policy, product)
            audit(s, actor, "policy", policy_no, "auto_enroll", None,
                  {"as_of": as_of.isoformat(), "enrolled": len(rows)})
            emit(s, "roster.auto_enrolled", {"policy_no": policy_no, "enrolled": len(rows),
                                             "premium": fmt(from_fen(policy.annual_premium_fen))})
        return len(rows)


def _to_enroll(batch: list[tuple[int, PersonData]], known: dict[str, tuple[int, str]],
               members: set[int], result: ImportResult) -> list[int]:
    """Party ids to add to the roster; a name clash is a row error, a member is skipped."""
    enroll: list[int] = []
    for line, p in batch:
        pid, name = known[p.id_number]
        if name and name != p.name:
            result.errors.append(RowError(line, "name", "该身份证号已登记为另一姓名，请核对"))
            continue
        if pid in members:
            result.skipped += 1
            continue
        members.add(pid)
        enroll.append(pid)
    return enroll


# ---- roster maintenance: removing members (death, moving away, correction) -----------------

RemovalReason = Annotated[str, domain_rule(lambda v, _f: rr.parse_reason(v)),
                          WithJsonSchema({"type": "string", "enum": list(rr.REMOVAL_REASONS),
                                          "description": "Or its name in Chinese."})]


class RemoveMember(Command):
    """Take a member off a group roster from a date: their death, their moving away, or a
    correction of their enrollment. Cover runs through that date and ends after it."""

    policy_no: Reference
    id_number: IdNumber
    reason: RemovalReason
    date: Day
    note: Text(rr.NOTE_LIMIT) | None = None  # type: ignore[valid-type]


@dataclass
class RemovalResult:
    removed: int = 0
    corrected: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    #: undecided claims for an incident after a removal date: on their timeline, to review
    claims_to_review: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "corrected": self.corrected, "skipped": self.skipped,
                "errors": [{"line": e.line, "field": e.field, "message": e.message}
                           for e in self.errors],
                "claims_to_review": self.claims_to_review}


@dataclass(frozen=True)
class _Member:
    row: RosterMember
    name: str
    birth_date: date


def _any_group_policy(s: Session, policy_no: str) -> tuple[PolicyRow, Product]:
    """A group policy in any status: deaths are recorded after a scheme has ended too."""
    row = load_policy(s, policy_no, lock=True)
    if row.kind != "group":
        raise ValidationError("policy_no", f"{policy_no} 不是团体保单")
    return row, load_product(s, row.product_code)


def _members(s: Session, policy: PolicyRow, id_numbers: list[str]) -> dict[str, _Member]:
    """The roster rows of these ID numbers, their parties locked (as the claims' integrity
    checks lock them before approval: a removal and an approval of the same insured's claim
    take turns)."""
    if not id_numbers:
        return {}
    found = s.execute(
        select(RosterMember, Party.id_number, Party.name, Party.birth_date)
        .join(Party, Party.id == RosterMember.party_id)
        .where(RosterMember.policy_id == policy.id, Party.id_number_hash.in_(
            [keyed_hash("id_number", i) for i in id_numbers]))
        .order_by(Party.id).with_for_update(of=Party)
    ).all()
    return {idn: _Member(row, name, birth) for row, idn, name, birth in found}


def _claims(s: Session, policy: PolicyRow, party_ids: list[int]
            ) -> dict[int, list[tuple[str, str, date, bool]]]:
    """Each insured's claims on the policy: (claim_no, status, incident date, money decided —
    approved or paid, closed with an approved amount, or an advance already paid)."""
    out: dict[int, list[tuple[str, str, date, bool]]] = {}
    if not party_ids:
        return out
    for pid, no, status, incident, approved, advance in s.execute(
        select(ClaimRow.insured_party_id, ClaimRow.claim_no, ClaimRow.status,
               ClaimRow.incident_date, ClaimRow.approved_fen, ClaimRow.advance_paid_fen)
        .where(ClaimRow.policy_id == policy.id, ClaimRow.insured_party_id.in_(party_ids))
    ):
        decided = (status in rr.MONEY_DECIDED or (status == "closed" and bool(approved))
                   or bool(advance))
        out.setdefault(pid, []).append((no, status, incident, decided))
    return out


def _remove(s: Session, policy: PolicyRow, product: Product, member: _Member,
            removal: rr.Removal, claims: list[tuple[str, str, date, bool]], actor: str
            ) -> tuple[str, list[str]]:
    """Apply one removal: `removed`, `corrected` or `unchanged`, and the undecided claims to
    review. Conflict (field `date`) when a decided claim's incident falls after the date."""
    row = member.row
    current = (row.end_reason, row.ended_on) \
        if row.status == "removed" and row.end_reason and row.ended_on else None
    outcome = rr.removal_outcome(current, removal.reason, removal.day)  # type: ignore[arg-type]
    if outcome == "unchanged":
        return outcome, []
    paid = rr.paid_after(removal.day, claims)
    if paid:
        raise Conflict(
            f"被保险人 {removal.day} 之后出险的案件 {'、'.join(paid)} 已核定或已给付，"
            "不能从该日起终止保障；请核对退出日期，或先复核这些案件", "date")
    review = rr.in_progress_after(removal.day, claims)
    before = {"status": row.status, "reason": row.end_reason,
              "date": row.ended_on.isoformat() if row.ended_on else None}
    row.status, row.end_reason, row.ended_on = "removed", removal.reason, removal.day
    row.end_note, row.ended_by, row.ended_at = removal.note, str(actor)[:60], utcnow()
    after = {"policy_no": policy.policy_no, "status": "removed", "reason": removal.reason,
             "date": removal.day.isoformat(), "note": removal.note,
             "claims_to_review": review}
    audit(s, actor, "party", str(row.party_id),
          "roster.remove" if outcome == "removed" else "roster.correct_removal",
          before if outcome == "corrected" else {"status": before["status"]}, after)
    _note_claims(s, product, review, removal)
    return outcome, review


def _note_claims(s: Session, product: Product, claim_nos: list[str],
                 removal: rr.Removal) -> None:
    """An undecided claim for an incident after the removal date: a line on its timeline and,
    for a death, the integrity checks run again (they raise `after_death`)."""
    if not claim_nos:
        return
    text_ = (f"被保险人已从清单退出（{rr.REMOVAL_REASON_NAMES[removal.reason]}，"
             f"{removal.day}），本案出险日期在保障终止之后，请复核")
    for claim in s.execute(select(ClaimRow).where(ClaimRow.claim_no.in_(claim_nos))).scalars():
        s.add(ClaimEvent(claim_id=claim.id, action="roster_change", status=claim.status,
                         actor=integrity_service.SYSTEM, note=text_))
        if removal.reason == rr.DEATH:
            integrity_service.refresh(s, claim, product)


@takes(RemoveMember)
def remove_member(db: Database, cmd: RemoveMember, actor: str,
                  today: date | None = None) -> dict[str, Any]:
    """Take one member off a group roster from a date (one transaction).

    The row stays (history); cover runs through the date (rr.last_covered_day). The same
    reason and date again change nothing; another reason or date corrects the removal, under
    the same checks. Refused: a future date (field `date`), a member not on the roster (404,
    `id_number`), a date before the incident of a claim already approved or paid (409,
    `date`). Undecided claims for a later incident are put up for review, not refused: a
    recorded death must stop them, not wait for them.
    """
    today = today or today_cn()
    day = rr.check_removal_date(business_date(cmd.date, "date"), today)
    with db.transaction() as s:
        policy, product = _any_group_policy(s, cmd.policy_no)
        member = _members(s, policy, [cmd.id_number]).get(cmd.id_number)
        if member is None:
            raise NotFound(f"该身份证号不在团体保单 {cmd.policy_no} 的被保险人清单中",
                           "id_number")
        rr.check_removal_date(day, today, member.birth_date)
        removal = rr.Removal(cmd.id_number, member.name, cmd.reason, day, cmd.note)
        claims = _claims(s, policy, [member.row.party_id]).get(member.row.party_id, [])
        outcome, review = _remove(s, policy, product, member, removal, claims, actor)
        if outcome != "unchanged":
            _reprice_group(s, policy, product)
            emit(s, "roster.member_removed", {
                "policy_no": cmd.policy_no, "party_id": member.row.party_id,
                "reason": removal.reason, "date": day.isoformat(), "outcome": outcome})
        return _removal_view(policy, member.row, outcome, review)


def _removal_view(policy: PolicyRow, row: RosterMember, outcome: str,
                  review: list[str]) -> dict[str, Any]:
    assert row.ended_on is not None and row.end_reason is not None
    return {"policy_no": policy.policy_no, "status": row.status, "outcome": outcome,
            "reason": row.end_reason, "reason_text": rr.REMOVAL_REASON_NAMES[row.end_reason],
            "date": row.ended_on.isoformat(),
            "covered_until": rr.last_covered_day(row.ended_on).isoformat(),
            "enrolled_on": row.enrolled_on.isoformat(), "note": row.end_note,
            "claims_to_review": review,
            "premium": fmt(from_fen(policy.annual_premium_fen or 0))}


def import_removals(db: Database, policy_no: str, lines: Iterable[str], actor: str,
                    today: date | None = None) -> RemovalResult:
    """A removals list (the government's monthly deaths and departures), streamed, in one
    transaction: CSV `id_number,name,reason,date` (+ optional `note`).

    Bad rows are reported by line and field like the roster import (a member not on the
    roster, a name that is not the roster's, a date before a decided claim's incident, a
    second row for the same person); good rows are applied. Idempotent: a removal already
    recorded with the same reason and date is skipped. A file that cannot be read as a whole
    (no header, not UTF-8) changes nothing.
    """
    today = today or today_cn()
    result = RemovalResult()
    with db.transaction() as s:
        policy, product = _any_group_policy(s, policy_no)
        seen: dict[str, int] = {}
        batch: list[tuple[int, rr.Removal]] = []
        for line, raw in _rows(lines, rr.check_removal_header):
            removal = _removal_row(line, raw, today, seen, result.errors)
            if removal is None:
                continue
            batch.append((line, removal))
            if len(batch) >= BATCH:
                _remove_batch(s, policy, product, batch, actor, result)
                batch = []
        _remove_batch(s, policy, product, batch, actor, result)
        if result.removed or result.corrected:
            _reprice_group(s, policy, product)
            emit(s, "roster.removals_imported", {
                "policy_no": policy_no, "removed": result.removed,
                "corrected": result.corrected})
        result.errors.sort(key=lambda e: e.line)
        audit(s, actor, "policy", policy_no, "import_removals", None,
              {"removed": result.removed, "corrected": result.corrected,
               "skipped": result.skipped, "errors": len(result.errors)})
    return result


def _removal_row(line: int, raw: dict[str, str], today: date, seen: dict[str, int],
                 errors: list[RowError]) -> rr.Removal | None:
    if "__columns__" in raw:
        errors.append(RowError(line, "row", f"列数与表头不一致，实际 {raw['__columns__']} 列"))
        return None
    nul = next((c for c, v in raw.items() if "\x00" in (v or "")), None)
    if nul:
        errors.append(RowError(line, nul if nul in rr.REMOVAL_COLUMNS or nul == "note"
                               else "row", "含有不允许的控制字符"))
        return None
    try:
        removal = rr.parse_removal_row(raw, today)
    except ValidationError as exc:
        errors.append(RowError(line, exc.field or "row", exc.message))
        return None
    if removal.id_number in seen:
        errors.append(RowError(line, "id_number", f"与第 {seen[removal.id_number]} 行身份证号重复"))
        return None
    seen[removal.id_number] = line
    return removal


def _remove_batch(s: Session, policy: PolicyRow, product: Product,
                  batch: list[tuple[int, rr.Removal]], actor: str,
                  result: RemovalResult) -> None:
    if not batch:
        return
    members = _members(s, policy, [r.id_number for _, r in batch])
    claims = _claims(s, policy, [m.row.party_id for m in members.values()])
    for line, removal in batch:
        member = members.get(removal.id_number)
        if member is None:
            result.errors.append(RowError(line, "id_number", "不在该保单的被保险人清单中"))
            continue
        if member.name != removal.name:
            result.errors.append(RowError(line, "name", "姓名与清单登记的不一致，请核对"))
            continue
        try:
            rr.check_removal_date(removal.day, date.max, member.birth_date)
            outcome, review = _remove(s, policy, product, member, removal,
                                      claims.get(member.row.party_id, []), actor)
        except DomainError as exc:
            result.errors.append(RowError(line, exc.field or "row", exc.message))
            continue
        if outcome == "removed":
            result.removed += 1
        elif outcome == "corrected":
            result.corrected += 1
        else:
            result.skipped += 1
        result.claims_to_review.extend(review)
