"""Group policies (团体保单): the contract, its roster, bulk import and auto-enrollment."""

from __future__ import annotations

import csv
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from backoffice.domain.errors import DomainError, ValidationError
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
from backoffice.services.base import audit, business_date, emit, number, today_cn
from backoffice.services.policies import load_policy, quote_view
from backoffice.services.products import load_product
from backoffice.store.db import Database
from backoffice.store.models import (
    Party,
    PolicyCoverage,
    PolicyRow,
    Resident,
    RosterMember,
    UTCDateTime,
    utcnow,
)

BATCH = 5000


def create_group_policy(
    db: Database, product_code: str, applicant_name: str, start_date: date, actor: str
) -> dict[str, Any]:
    """A government-sponsored (or employer) contract; its insureds come by roster."""
    if not applicant_name.strip():
        raise ValidationError("applicant_name", "投保单位名称不能为空")
    if len(applicant_name.strip()) > 100:
        raise ValidationError("applicant_name", "投保单位名称不能超过 100 字")
    business_date(start_date, "start_date")
    with db.transaction() as s:
        product = load_product(s, product_code)
        if product.kind != "group":
            raise ValidationError("product_code", f"{product.name}不是团体产品")
        year = start_date.year
        row = PolicyRow(
            application_no=number(s, "A", year, 8), policy_no=number(s, "G", year, 8),
            product_code=product.code, kind="group", status=IN_FORCE,
            applicant_name=applicant_name.strip(), applicant_relation="other",
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


def _rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; line numbers count the header as 1, as editors do."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except UnicodeDecodeError:
        raise ValidationError("file", "文件不是 UTF-8 编码") from None
    except csv.Error as exc:  # e.g. a first "line" longer than the csv field limit
        raise ValidationError("file", f"第 1 行 CSV 格式错误：{exc}") from None
    check_header(header)
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

    The file is read and validated on a helper thread (`_read_ahead`) while this thread writes
    the previous batch, so the database works while Python validates. All database work stays
    on this thread, in one transaction.
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
        with _read_ahead(_valid_batches(lines, min_age, enrolled_on, row_errors)) as batches:
            for batch in batches:
                _enroll(s, policy, batch, members, enrolled_on, "import", result)
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
    helper.start()
    try:
        yield consume()
    finally:
        stop.set()
        while helper.is_alive():  # free the slot the helper may be waiting for
            with suppress(queue.Empty):
                handoff.get(timeout=0.01)
        helper.join()


def _enroll(s: Session, policy: PolicyRow, batch: list[tuple[int, PersonData]],
            members: set[int], enrolled_on: date, source: str, result: ImportResult) -> None:
    """Find or create the parties of a batch, then add those not yet on the roster.

    Three statements per batch whatever its size, each taking the batch as one JSON
    parameter (see `_derived`), so neither SQLAlchemy nor the driver handles rows one by one.
    Other databases take the generic executemany path.
    """
    if not batch:
        return
    dialect = s.get_bind().dialect.name
    if dialect not in _SET_DIALECTS:
        _enroll_generic(s, policy, batch, members, enrolled_on, source, result)
        return
    parties = _PARTIES
    ids = [p.id_number for _, p in batch]
    if dialect == "postgresql":  # = ANY(array): always an index scan, never a hash join
        wanted = parties.c.id_number == any_(func.string_to_array(",".join(ids), ","))
    else:
        wanted = parties.c.id_number.in_(select(*_derived(dialect, [_ID_NUMBER], ids)))
    known = {
        idn: (pid, name) for pid, idn, name in s.execute(
            select(parties.c.id, parties.c.id_number, parties.c.name).where(wanted))
    }
    new = [
        (p.name, p.gender, p.birth_date, p.id_number, p.phone, p.address, p.occupation,
         p.occupation_class)
        for _, p in batch if p.id_number not in known
    ]
    if new:
        now = utcnow()
        values = select(*_derived(dialect, _PARTY_COLUMNS, new),
                        literal(now, UTCDateTime()), literal(now, UTCDateTime()))
        created = insert(parties).from_select(
            [*(name for name, _ in _PARTY_COLUMNS), "created_at", "updated_at"], values
        ).returning(parties.c.id, parties.c.id_number)
        for pid, idn in s.execute(created):
            known[idn] = (pid, "")
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
    if enroll:
        rows = select(literal(policy.id, Integer()), *_derived(dialect, [_PARTY_ID], enroll),
                      literal(enrolled_on, Date()), literal("active", String()),
                      literal(source, String()))
        s.execute(insert(_ROSTER).from_select(
            ["policy_id", "party_id", "enrolled_on", "status", "source"], rows))
        result.imported += len(enroll)


_PARTIES = Party.__table__
_ROSTER = RosterMember.__table__
_SET_DIALECTS = ("sqlite", "postgresql")
# (column, type) of the parties a roster creates, in the order of the value tuples.
_PARTY_COLUMNS: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("name", String()), ("gender", String()), ("birth_date", Date()), ("id_number", String()),
    ("phone", String()), ("address", String()), ("occupation", String()),
    ("occupation_class", Integer()),
)
_ID_NUMBER: tuple[str, TypeEngine[Any]] = ("id_number", String())
_PARTY_ID: tuple[str, TypeEngine[Any]] = ("party_id", Integer())


def _derived(dialect: str, columns: Sequence[tuple[str, TypeEngine[Any]]],
             rows: Sequence[Any]) -> list[ColumnElement[Any]]:
    """The columns of a derived table holding `rows`, all bound as ONE JSON parameter.

    `rows` are tuples in `columns` order, or plain values when there is one column. Dates
    travel as ISO text: what SQLAlchemy's SQLite `Date` stores, and cast on PostgreSQL.
    SQLite: `json_each` + `json_extract`. PostgreSQL: `jsonb_array_elements` + `->>` + casts
    (jsonb, not json: each element is parsed once, not once per `->>`).
    """
    payload = bindparam(None, json.dumps(list(rows), ensure_ascii=False, default=_json_date),
                        type_=String())
    single = len(columns) == 1
    if dialect == "postgresql":
        if single:
            elements = func.jsonb_array_elements_text(cast(payload, JSONB)).table_valued("value")
            return [cast(elements.c.value, columns[0][1])]
        elements = func.jsonb_array_elements(cast(payload, JSONB)).table_valued("value")
        return [cast(elements.c.value.op("->>")(literal_column(str(i))), t)
                for i, (_, t) in enumerate(columns)]
    each = func.json_each(payload).table_valued("value")
    if single:
        return [each.c.value]
    return [func.json_extract(each.c.value, f"$[{i}]") for i in range(len(columns))]


def _json_date(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _enroll_generic(s: Session, policy: PolicyRow, batch: list[tuple[int, PersonData]],
                    members: set[int], enrolled_on: date, source: str,
                    result: ImportResult) -> None:
    """`_enroll` for databases other than SQLite and PostgreSQL: executemany."""
    ids = [p.id_number for _, p in batch]
    known = {
        idn: (pid, name) for pid, idn, name in s.execute(
            select(Party.id, Party.id_number, Party.name).where(Party.id_number.in_(ids)))
    }
    now = utcnow()
    new = [
        {"name": p.name, "gender": p.gender, "birth_date": p.birth_date,
         "id_number": p.id_number, "phone": p.phone, "address": p.address,
         "occupation": p.occupation, "occupation_class": p.occupation_class,
         "created_at": now, "updated_at": now}
        for _, p in batch if p.id_number not in known
    ]
    if new:
        for pid, idn in s.execute(insert(Party).returning(Party.id, Party.id_number), new):
            known[idn] = (pid, "")
    enroll = []
    for line, p in batch:
        pid, name = known[p.id_number]
        if name and name != p.name:
            result.errors.append(RowError(line, "name", "该身份证号已登记为另一姓名，请核对"))
            continue
        if pid in members:
            result.skipped += 1
            continue
        members.add(pid)
        enroll.append({"policy_id": policy.id, "party_id": pid, "enrolled_on": enrolled_on,
                       "status": "active", "source": source})
    if enroll:
        s.execute(insert(RosterMember), enroll)
        result.imported += len(enroll)


def _reprice_group(s: Session, policy: PolicyRow, product: Product) -> None:
    count = s.execute(select(func.count()).select_from(RosterMember).where(
        RosterMember.policy_id == policy.id, RosterMember.status == "active")).scalar_one()
    q = group_quote(product, int(count))
    policy.annual_premium_fen = policy.instalment_fen = to_fen(q.annual_premium)
    policy.premium_lines = quote_view(q)["lines"]


def auto_enroll(db: Database, policy_no: str, as_of: date, actor: str = "scheduler") -> int:
    """Monthly: residents of the scheme's area who have reached the minimum age are enrolled
    from the 1st of the month after their birthday, with no application. Idempotent."""
    business_date(as_of, "as_of")
    with db.transaction() as s:
        policy, product = _group_policy(s, policy_no)
        areas = product.eligibility.get("area_codes") or []
        min_age = int(product.eligibility.get("min_age", 0))
        # enrollment_date(birth) <= as_of  ⇔  the birthday fell before as_of's month began
        first_of_month = as_of.replace(day=1)
        latest_birth = add_months(first_of_month - timedelta(days=1), -12 * min_age)
        on_roster = exists().where(and_(RosterMember.policy_id == policy.id,
                                        RosterMember.party_id == Party.id))
        due = s.execute(
            select(Party.id, Party.birth_date).join(Resident, Resident.party_id == Party.id)
            .where(Resident.area_code.in_(areas), Party.birth_date <= latest_birth, ~on_roster)
        ).all()
        assert policy.start_date is not None
        rows = [
            {"policy_id": policy.id, "party_id": pid, "status": "active",
             "source": "auto_enrollment",
             "enrolled_on": max(enrollment_date(birth, min_age), policy.start_date)}
            for pid, birth in due
        ]
        if rows:
            s.execute(insert(RosterMember), rows)
            _reprice_group(s, policy, product)
            audit(s, actor, "policy", policy_no, "auto_enroll", None,
                  {"as_of": as_of.isoformat(), "enrolled": len(rows)})
            emit(s, "roster.auto_enrolled", {"policy_no": policy_no, "enrolled": len(rows),
                                             "premium": fmt(from_fen(policy.annual_premium_fen))})
        return len(rows)

