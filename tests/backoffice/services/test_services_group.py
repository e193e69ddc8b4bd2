"""Group policies: roster import (line-numbered errors, idempotence) and auto-enrollment."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from backoffice.domain.errors import DomainError, ValidationError
from backoffice.domain.identity import make_id_number
from backoffice.services import group
from backoffice.store.db import Database
from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import (
    AuditEntry,
    OutboxEvent,
    Party,
    PolicyRow,
    Resident,
    RosterMember,
)

if TYPE_CHECKING:
    from conftest import Factory

HEADER = "name,gender,birth_date,id_number,phone,address"
AREA = "440514"
START = date(2026, 1, 1)
TODAY = date(2026, 3, 10)


def _idn(birth: date, seq: int) -> str:
    return make_id_number(AREA, birth, seq)


def _line(name: str, birth: date, seq: int, *, gender: str | None = None,
          phone: str = "13800001111", address: str = "潮南区峡山街道1号") -> str:
    gender = gender or ("男" if seq % 2 else "女")
    return f"{name},{gender},{birth.isoformat()},{_idn(birth, seq)},{phone},{address}"


def _bad_check(idn: str) -> str:
    return idn[:-1] + ("1" if idn[-1] == "0" else "0")


def _lines(*rows: str, header: str = HEADER) -> list[str]:
    return [r + "\n" for r in (header, *rows)]


def _create(db: Database, product_code: str, applicant_name: str) -> dict[str, Any]:
    return group.create_group_policy(db, {"product_code": product_code,
                                          "applicant_name": applicant_name,
                                          "start_date": START.isoformat()}, "admin")


def _auto_enroll(db: Database, policy_no: str, as_of: date) -> int:
    return group.auto_enroll(db, {"policy_no": policy_no, "as_of": as_of.isoformat()},
                             "scheduler")


@pytest.fixture
def scheme(db: Database) -> str:
    return _create(db, "CN-ELDER-ACC", "汕头市潮南区人民政府")["policy_no"]


def _import(db: Database, policy_no: str, lines: Iterable[str]) -> group.ImportResult:
    return group.import_roster(db, policy_no, lines, "importer-1", TODAY)


def _roster(db: Database, policy_no: str) -> list[tuple[str, str, date, str]]:
    with db.read() as s:
        return sorted(tuple(r) for r in s.execute(  # type: ignore[misc]
            select(Party.id_number, Party.name, RosterMember.enrolled_on, RosterMember.source)
            .join(RosterMember, RosterMember.party_id == Party.id)
            .join(PolicyRow, PolicyRow.id == RosterMember.policy_id)
            .where(PolicyRow.policy_no == policy_no)).all())  # sealed: sorted here


def _count(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _premium_fen(db: Database, policy_no: str) -> int:
    with db.read() as s:
        return int(s.execute(select(PolicyRow.annual_premium_fen)
                             .where(PolicyRow.policy_no == policy_no)).scalar_one())


def test_create_group_policy(db: Database, scheme: str) -> None:
    assert scheme.startswith("G2026")
    with db.read() as s:
        row = s.execute(select(PolicyRow).where(PolicyRow.policy_no == scheme)).scalar_one()
    assert (row.kind, row.status, row.start_date, row.end_date) == (
        "group", "in_force", START, date(2027, 1, 1))
    with pytest.raises(ValidationError) as exc:
        _create(db, "PA-GUARD", "某公司")
    assert exc.value.field == "product_code"


def test_good_rows_are_imported_and_priced(db: Database, scheme: str) -> None:
    rows = [_line("陈阿婆", date(1950, 2, 3), 2), _line("林伯", date(1960, 12, 31), 5),
            _line("黄婶", date(1940, 7, 7), 8)]
    result = _import(db, scheme, _lines(*rows))
    assert result.as_dict() == {"imported": 3, "skipped": 0, "errors": []}
    roster = _roster(db, scheme)
    assert [r[1] for r in roster] == ["黄婶", "陈阿婆", "林伯"]
    assert {r[2] for r in roster} == {TODAY}  # enrolled from the import day
    assert {r[3] for r in roster} == {"import"}
    assert _premium_fen(db, scheme) == 3 * 1000  # 10 元 per member
    with db.read() as s:
        party = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", _idn(date(1960, 12, 31), 5))
                )).scalar_one()
    assert (party.gender, party.birth_date, party.phone) == ("male", date(1960, 12, 31),
                                                             "13800001111")


def test_bad_rows_are_reported_by_line_and_field(db: Database, scheme: str) -> None:
    b = date(1950, 1, 1)
    lines = _lines(
        _line("好人甲", b, 1),                                            # 2 ok
        _line("", b, 3),                                                  # 3 name empty
        _line("张3", b, 5),                                               # 4 name with digit
        _line("好人乙", b, 7, gender="X"),                                # 5 gender
        _line("好人丙", b, 9, gender="女"),                               # 6 gender ≠ ID
        f"好人丁,男,1950-01-02,{_idn(b, 11)},13800001111,潮南区",        # 7 birth ≠ ID
        f"好人戊,男,1950-13-01,{_idn(b, 13)},13800001111,潮南区",        # 8 not a date
        f"好人己,男,1950-01-01,{_bad_check(_idn(b, 15))},13800001111,潮南区",  # 9 check
        _line("好人庚", b, 17, phone="12345"),                            # 10 phone
        _line("好人辛", b, 19, address=""),                               # 11 address
        "好人壬,男,1950-01-01",                                           # 12 columns
        _line("好人癸", b, 1),                                            # 13 duplicate of 2
        _line("少年", date(1970, 5, 5), 21),                              # 14 under 60
        _line("好人子", b, 23, phone=""),                                 # 15 phone empty
        _line("好人丑", b, 25) + ",多余",                                 # 16 columns
        _line("好人寅", b, 27),                                           # 17 ok
    )
    result = _import(db, scheme, lines)
    assert result.imported == 2 and result.skipped == 0
    assert [(e.line, e.field) for e in result.errors] == [
        (3, "name"), (4, "name"), (5, "gender"), (6, "gender"), (7, "birth_date"),
        (8, "birth_date"), (9, "id_number"), (10, "phone"), (11, "address"), (12, "row"),
        (13, "id_number"), (14, "birth_date"), (15, "phone"), (16, "row")]
    assert all(e.message for e in result.errors)
    assert "第 2 行" in result.errors[10].message  # the duplicate names the first line
    assert "60" in result.errors[11].message
    assert [r[1] for r in _roster(db, scheme)] == ["好人甲", "好人寅"]
    assert _premium_fen(db, scheme) == 2000


def test_blank_lines_bom_and_quoted_commas(db: Database, scheme: str) -> None:
    b = date(1955, 8, 8)
    text = (
        "\ufeff" + HEADER + "\r\n"
        "\r\n"
        + _line("郑伯", b, 1) + "\r\n"
        "   \r\n"
        + f'"蔡婆",女,{b},{_idn(b, 2)},13800002222,"潮南区陈店镇,新乡村 ""东"" 巷"' + "\r\n"
        ",,,,,\r\n"
        + _line("", b, 3) + "\r\n"
    )
    result = _import(db, scheme, io.StringIO(text, newline=""))
    assert result.imported == 2
    assert [(e.line, e.field) for e in result.errors] == [(7, "name")]
    with db.read() as s:
        address = s.execute(select(Party.address).where(
            Party.id_number_hash == keyed_hash("id_number", _idn(b, 2)))).scalar_one()
    assert address == '潮南区陈店镇,新乡村 "东" 巷'


def test_reimport_of_the_same_file_imports_nothing(db: Database, scheme: str) -> None:
    lines = _lines(*[_line(f"老人{'甲乙丙丁戊'[i]}", date(1945, 1, 1 + i), 2 * i + 1)
                     for i in range(5)], "坏行")
    first = _import(db, scheme, lines)
    assert (first.imported, first.skipped, len(first.errors)) == (5, 0, 1)
    second = _import(db, scheme, lines)
    assert (second.imported, second.skipped) == (0, 5)
    assert [(e.line, e.field) for e in second.errors] == [(7, "row")]
    assert len(_roster(db, scheme)) == 5
    assert _count(db, Party) == 5
    assert _premium_fen(db, scheme) == 5000


def test_known_person_with_another_name_is_an_error(db: Database, scheme: str) -> None:
    b = date(1948, 4, 4)
    _import(db, scheme, _lines(_line("许伯", b, 1)))
    result = _import(db, scheme, _lines(_line("许伯", b, 1), _line("徐伯", b, 1)))
    assert result.skipped == 1
    assert [(e.line, e.field) for e in result.errors] == [(3, "id_number")]
    other = _create(db, "CN-ELDER-ACC", "另一个镇政府")
    result = _import(db, other["policy_no"], _lines(_line("徐伯", b, 1)))
    assert [(e.line, e.field) for e in result.errors] == [(2, "name")]
    assert result.imported == 0


def test_file_not_utf8_in_the_middle_writes_nothing(
    db: Database, scheme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _import(db, scheme, _lines(_line("先来", date(1944, 4, 4), 1)))
    members, parties, audits = _count(db, RosterMember), _count(db, Party), _count(db, AuditEntry)
    # far more than one decoder chunk of good rows, so the bad bytes are met mid-import
    good = "".join(_lines(*[_line("老人", date(1940, 1, 1) + timedelta(days=i), 3)
                            for i in range(400)]))
    assert len(good.encode()) > 3 * 8192
    raw = good.encode() + "潮汕".encode("gbk") + b",\xff\xfe\n" + _line("后来", START, 5).encode()
    monkeypatch.setattr(group, "BATCH", 2)  # and batches are written before the bad bytes
    written: list[int] = []
    enroll = group._enroll

    def counting(*args: Any, **kwargs: Any) -> None:
        written.append(len(args[2]))
        enroll(*args, **kwargs)

    monkeypatch.setattr(group, "_enroll", counting)
    with pytest.raises(ValidationError) as exc:
        _import(db, scheme, io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline=""))
    assert exc.value.field == "file"
    assert sum(written) > 50  # rows had been written inside the transaction…
    assert _count(db, RosterMember) == members  # …and were rolled back
    assert _count(db, Party) == parties
    assert _count(db, AuditEntry) == audits
    assert _premium_fen(db, scheme) == 1000


def test_missing_header_columns(db: Database, scheme: str) -> None:
    for header in ("name,gender,birth_date,id_number,phone", "", "姓名,性别,出生日期,身份证号"):
        with pytest.raises(ValidationError) as exc:
            _import(db, scheme, _lines(_line("某人", date(1950, 1, 1), 1), header=header))
        assert exc.value.field == "header"
    with pytest.raises(ValidationError) as exc:
        _import(db, scheme, [])  # an empty file
    assert exc.value.field == "header"
    with pytest.raises(ValidationError) as exc:
        _import(db, scheme, _lines(_line("某人", date(1950, 1, 1), 1),
                                   header="name,gender,birth_date,id_number,phone"))
    assert "address" in exc.value.message
    assert _count(db, RosterMember) == 0


def test_header_columns_in_another_order(db: Database, scheme: str) -> None:
    b = date(1950, 6, 6)
    lines = ["address,phone,id_number,birth_date,gender,name\n",
             f"潮南区,13800001111,{_idn(b, 1)},{b},男,钟伯\n"]
    assert _import(db, scheme, lines).imported == 1
    assert _roster(db, scheme)[0][1] == "钟伯"


def test_import_into_a_policy_that_is_not_a_group(
    db: Database, scheme: str, factory: Factory
) -> None:
    no = factory.issued()["policy_no"]
    with pytest.raises(ValidationError) as exc:
        _import(db, no, _lines(_line("某人", date(1950, 1, 1), 1)))
    assert exc.value.field == "policy_no"
    with pytest.raises(DomainError) as exc2:
        _import(db, "G20269999", _lines(_line("某人", date(1950, 1, 1), 1)))
    assert exc2.value.field == "policy_no"
    assert _count(db, RosterMember) == 0


def test_import_is_audited(db: Database, scheme: str, factory: Factory) -> None:
    _import(db, scheme, _lines(_line("某人", date(1950, 1, 1), 1), "bad"))
    entries = [e for e in factory.audits(scheme) if e.action == "import_roster"]
    assert len(entries) == 1
    assert entries[0].actor == "importer-1"
    assert entries[0].after == {"imported": 1, "skipped": 0, "errors": 1}


# ---- auto-enrollment -------------------------------------------------------------------------

def _residents(db: Database, people: list[tuple[str, date, int, str]],
               registered_on: dict[str, date] | None = None) -> None:
    """Residents of `area`, registered there long ago unless `registered_on` names a day."""
    with db.transaction() as s:
        for name, birth, seq, area in people:
            party = Party(name=name, gender="male" if seq % 2 else "female", birth_date=birth,
                          id_number=make_id_number(area, birth, seq), phone="13800003333")
            s.add(party)
            s.flush()
            day = (registered_on or {}).get(name, date(2000, 1, 1))
            s.add(Resident(party_id=party.id, area_code=area, registered_on=day))


def test_auto_enroll_from_the_first_of_the_month_after_the_60th_birthday(
    db: Database, scheme: str, factory: Factory
) -> None:
    as_of = date(2026, 6, 10)
    _residents(db, [
        ("甲", date(1966, 3, 15), 1, AREA),   # 60 on 2026-03-15 → from 2026-04-01
        ("乙", date(1966, 4, 30), 3, AREA),   # 60 on 2026-04-30 → from 2026-05-01
        ("丙", date(1966, 5, 31), 5, AREA),   # 60 on 2026-05-31 → from 2026-06-01
        ("丁", date(1966, 6, 1), 7, AREA),    # 60 in June, the month of as_of → not yet
        ("戊", date(1966, 6, 5), 9, AREA),    # 60 on 2026-06-05, still June → not yet
        ("己", date(1970, 1, 1), 11, AREA),   # 56 → no
        ("庚", date(1950, 9, 9), 13, AREA),   # already on the roster by import
        ("辛", date(1950, 9, 9), 15, "440513"),  # another district → no
        ("壬", date(1940, 1, 1), 17, AREA),   # long over 60 → from the policy start
    ])
    _import(db, scheme, _lines(_line("庚", date(1950, 9, 9), 13)))
    assert _premium_fen(db, scheme) == 1000

    assert _auto_enroll(db, scheme, as_of) == 4
    enrolled = {r[1]: (r[2], r[3]) for r in _roster(db, scheme)}
    assert enrolled == {
        "甲": (date(2026, 4, 1), "auto_enrollment"),
        "乙": (date(2026, 5, 1), "auto_enrollment"),
        "丙": (date(2026, 6, 1), "auto_enrollment"),
        "庚": (TODAY, "import"),
        "壬": (START, "auto_enrollment"),
    }
    assert _premium_fen(db, scheme) == 5 * 1000
    entries = [e for e in factory.audits(scheme) if e.action == "auto_enroll"]
    assert [(e.actor, e.after) for e in entries] == [
        ("scheduler", {"as_of": "2026-06-10", "enrolled": 4})]

    assert _auto_enroll(db, scheme, as_of) == 0
    assert len(_roster(db, scheme)) == 5
    assert len([e for e in factory.audits(scheme) if e.action == "auto_enroll"]) == 1

    # next month the June birthdays join, from 1 July
    assert _auto_enroll(db, scheme, date(2026, 7, 1)) == 2
    enrolled = {r[1]: r[2] for r in _roster(db, scheme)}
    assert enrolled["丁"] == enrolled["戊"] == date(2026, 7, 1)
    assert "己" not in enrolled and "辛" not in enrolled
    assert _premium_fen(db, scheme) == 7 * 1000


def test_a_new_resident_is_covered_from_the_month_after_registration(
    db: Database, scheme: str
) -> None:
    """Moving into the district is what makes an older person eligible: cover starts on the
    1st of the month after registration, never back to the policy's start (START)."""
    _residents(db, [
        ("甲", date(1950, 2, 2), 1, AREA),   # 76, registered 20 Apr → from 1 May
        ("乙", date(1955, 5, 5), 3, AREA),   # 71, registered 1 Mar → from 1 Apr
        ("丙", date(1966, 1, 9), 5, AREA),   # 60 in Jan, registered 31 May → from 1 Jun
        ("丁", date(1944, 4, 4), 7, AREA),   # registered 3 Jun, the month of as_of → not yet
        ("戊", date(1966, 6, 1), 9, AREA),   # registered 1 Feb at 59, 60 in June → not yet
        ("己", date(1948, 8, 8), 11, AREA),  # registered before the policy began → START
    ], registered_on={"甲": date(2026, 4, 20), "乙": date(2026, 3, 1),
                      "丙": date(2026, 5, 31), "丁": date(2026, 6, 3),
                      "戊": date(2026, 2, 1), "己": date(2025, 12, 31)})
    assert _auto_enroll(db, scheme, date(2026, 6, 10)) == 4
    assert {r[1]: r[2] for r in _roster(db, scheme)} == {
        "甲": date(2026, 5, 1), "乙": date(2026, 4, 1), "丙": date(2026, 6, 1), "己": START}
    assert _auto_enroll(db, scheme, date(2026, 6, 30)) == 0
    assert _auto_enroll(db, scheme, date(2026, 7, 1)) == 2
    enrolled = {r[1]: r[2] for r in _roster(db, scheme)}
    assert enrolled["丁"] == enrolled["戊"] == date(2026, 7, 1)


def test_auto_enroll_only_into_a_covered_group_policy(
    db: Database, scheme: str, factory: Factory
) -> None:
    no = factory.issued()["policy_no"]
    with pytest.raises(ValidationError) as exc:
        _auto_enroll(db, no, date(2026, 6, 1))
    assert exc.value.field == "policy_no"


# ---- removals ----------------------------------------------------------------------------------

def _remove(db: Database, policy_no: str, idn: str, reason: str, day: date,
            actor: str = "uw-chen", **extra: Any) -> dict[str, Any]:
    return group.remove_member(db, {"policy_no": policy_no, "id_number": idn, "reason": reason,
                                    "date": day.isoformat(), **extra}, actor, today=TODAY)


def _member(db: Database, idn: str) -> RosterMember:
    with db.read() as s:
        return s.execute(select(RosterMember).join(Party, Party.id == RosterMember.party_id)
                         .where(Party.id_number_hash == keyed_hash("id_number", idn))).scalar_one()


def test_a_removal_keeps_the_row_reprices_and_is_audited_once(
        db: Database, scheme: str) -> None:
    _import(db, scheme, _lines(_line("陈阿婆", date(1950, 2, 3), 2),
                               _line("林伯", date(1948, 12, 31), 5)))
    idn = _idn(date(1950, 2, 3), 2)
    answer = _remove(db, scheme, idn, "death", date(2026, 3, 9), note="死亡医学证明")
    assert (answer["outcome"], answer["covered_until"], answer["premium"]) == (
        "removed", "2026-03-09", "10.00")
    row = _member(db, idn)
    assert (row.status, row.end_reason, row.ended_on, row.end_note, row.ended_by) == (
        "removed", "death", date(2026, 3, 9), "死亡医学证明", "uw-chen")
    assert (row.enrolled_on, row.source) == (TODAY, "import")  # the history stays
    assert _premium_fen(db, scheme) == 1000

    # a second person sends the same removal: nothing changes, nothing more is written
    assert _remove(db, scheme, idn, "死亡", date(2026, 3, 9), "uw-li")["outcome"] == "unchanged"
    assert _member(db, idn).ended_by == "uw-chen"
    # another reason is a correction, with the before and after
    assert _remove(db, scheme, idn, "correction", date(2026, 3, 9))["outcome"] == "corrected"
    with db.read() as s:
        audits = s.execute(select(AuditEntry).where(AuditEntry.entity_type == "party",
                                                    AuditEntry.action.like("roster.%"))
                           .order_by(AuditEntry.id)).scalars().all()
        events = s.execute(select(OutboxEvent.payload).where(
            OutboxEvent.topic == "roster.member_removed")).scalars().all()
    assert [(a.action, a.actor) for a in audits] == [
        ("roster.remove", "uw-chen"), ("roster.correct_removal", "uw-chen")]
    assert audits[1].before == {"status": "removed", "reason": "death", "date": "2026-03-09"}
    assert idn not in str([a.after for a in audits])  # the ID number is not copied around
    assert [e["outcome"] for e in events] == ["removed", "corrected"]


def test_refused_removals_change_nothing(db: Database, scheme: str) -> None:
    _import(db, scheme, _lines(_line("陈阿婆", date(1950, 2, 3), 2)))
    idn = _idn(date(1950, 2, 3), 2)
    with pytest.raises(ValidationError) as exc:
        _remove(db, scheme, idn, "moved_away", TODAY + timedelta(days=1))
    assert exc.value.field == "date"
    with pytest.raises(ValidationError) as exc:
        _remove(db, scheme, idn, "death", date(1950, 2, 2))  # before the birth
    assert exc.value.field == "date"
    with pytest.raises(DomainError) as err:
        _remove(db, scheme, _idn(date(1950, 2, 3), 4), "death", date(2026, 3, 1))
    assert err.value.field == "id_number"
    assert _member(db, idn).status == "active" and _premium_fen(db, scheme) == 1000


def test_a_removed_resident_is_not_enrolled_again(db: Database, scheme: str) -> None:
    _residents(db, [("甲", date(1950, 5, 5), 1, AREA)])
    assert _auto_enroll(db, scheme, date(2026, 2, 1)) == 1
    idn = make_id_number(AREA, date(1950, 5, 5), 1)
    _remove(db, scheme, idn, "death", date(2026, 2, 20))
    assert _auto_enroll(db, scheme, date(2026, 3, 1)) == 0
    again = _import(db, scheme, _lines(_line("甲", date(1950, 5, 5), 1)))
    assert (again.imported, again.skipped) == (0, 1)
    assert _member(db, idn).status == "removed" and _premium_fen(db, scheme) == 0


def test_removals_file_in_one_transaction(db: Database, scheme: str) -> None:
    _import(db, scheme, _lines(_line("陈阿婆", date(1950, 2, 3), 2)))
    idn = _idn(date(1950, 2, 3), 2)
    header = "id_number,name,reason,date"
    good = f"{idn},陈阿婆,死亡,2026-03-01"
    with pytest.raises(ValidationError) as exc:  # a bad header: nothing read
        group.import_removals(db, scheme, _lines(good, header="id_number,name,reason"),
                              "importer-1", TODAY)
    assert exc.value.field == "header"
    lines = [f"{header}\n", f"{good}\n", "x" * 10 + "\n", f"{good},迁出\n"]
    result = group.import_removals(db, scheme, lines, "importer-1", TODAY)
    assert (result.removed, [(e.line, e.field) for e in result.errors]) == (
        1, [(3, "row"), (4, "row")])
