"""ID, phone and bank card numbers sealed in the database (fieldseal), found by keyed hash.

What is stored is read back with raw SQL: no clear number anywhere; the lookups still find
the person (an ID number in either case of its X, a phone number); two parties never share
an ID number; a wrong or missing key fails clearly; a rotation keeps every row readable; and
migration 0033 converts rows written before it — on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hmac
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from backoffice.domain.identity import make_id_number
from backoffice.services import bindings, complaints, group, lookup, policies, search
from backoffice.store import fieldrewrap, fieldseal
from backoffice.store.db import Database
from backoffice.store.migrate import current_revision, downgrade, upgrade
from backoffice.store.models import Base, Party
from backoffice.store.sealing import Keyring
from xiaobao import cli

if TYPE_CHECKING:
    from conftest import Factory

CARD = "6222020200112233446"  # passes Luhn


@pytest.fixture
def test_keys() -> Iterator[fieldseal.FieldKeys]:
    """The suite's keys, put back after a test that installs others."""
    keys = fieldseal.installed()
    yield keys
    fieldseal.install(keys)


def _x_person(factory: Factory) -> dict[str, Any]:
    """A person whose ID number ends with the check character X."""
    for seq in range(1, 400):
        idn = make_id_number("440514", date(1955, 3, 9), seq)
        if idn.endswith("X"):
            return {**factory.person(date(1955, 3, 9), area="440514"), "id_number": idn}
    raise AssertionError("no check character X in 400 sequence numbers")


def _issued_with_card(db: Database, factory: Factory, person: dict[str, Any]) -> str:
    request = {**factory.request(insured=person, mode="auto_debit", frequency="quarterly"),
               "debit_account": CARD}
    app = policies.apply(db, request, "agent-1")
    ref = {"application_no": app["application_no"]}
    uw = policies.run_underwriting(db, ref, "underwriter-1")
    policies.record_payment(db, {**ref, "amount": uw["premium"]["instalment"],
                                 "method": "bank_transfer"}, "cashier-1")
    return str(policies.issue(db, ref, "underwriter-1")["policy_no"])


def _raw_dump(db: Database) -> str:
    """Every row of every table with a sealed column, as the database holds it (no column
    type in between). (A pending SMS's recipient in `notifications` is its address, kept
    until the retention job's end of it.)"""
    tables = {t.name for t, _, _ in fieldrewrap.sealed_columns()}
    parts = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in tables:
                parts += [repr(tuple(r)) for r in conn.execute(
                    text(f"SELECT * FROM {table.name}"))]
    return "\n".join(parts)


def test_stored_values_are_sealed_and_lookups_find_the_person(db: Database,
                                                              factory: Factory) -> None:
    person = _x_person(factory)
    policy_no = _issued_with_card(db, factory, person)
    complaints.intake(db, {"channel": "phone", "complainant": {"name": person["name"],
                                                                "phone": person["phone"]},
                           "category": "服务态度", "description": "电话打不通"}, "agent-1")

    dump = _raw_dump(db)
    for clear in (person["id_number"], person["id_number"].lower(), person["phone"], CARD,
                  person["id_number"][-6:], CARD[-8:]):
        assert clear not in dump
    with db.engine.connect() as conn:
        stored_id, id_hash, stored_phone = conn.execute(text(
            "SELECT id_number, id_number_hash, phone FROM parties")).one()
        account = conn.execute(text("SELECT debit_account FROM policies WHERE policy_no = :p"),
                               {"p": policy_no}).scalar_one()
        complaint_phone = conn.execute(text("SELECT complainant_phone FROM complaints")
                                       ).scalar_one()
    for stored in (stored_id, stored_phone, account, complaint_phone):
        assert stored.startswith("x1:test:")
    assert id_hash == fieldseal.keyed_hash("id_number", person["id_number"])
    assert len(id_hash) == fieldseal.HASH_LENGTH == 32

    # the ORM reads the plaintext back
    with db.read() as s:
        party = s.execute(select(Party)).scalar_one()
        assert (party.id_number, party.phone) == (person["id_number"], person["phone"])

    # policy lookup by ID number, the X in either case
    for spelled in (person["id_number"], person["id_number"].lower(),
                    f" {person['id_number'].lower()} "):
        items = lookup.policies_for_id_number(db, {"id_number": spelled.strip()}, "agent-1")
        assert [i["policy_no"] for i in items] == [policy_no], spelled
    other = make_id_number("440514", date(1955, 3, 9), 399)
    assert lookup.policies_for_id_number(db, {"id_number": other}, "agent-1") == []

    # the desk's search by ID number (lower-case x) and by phone
    for q, kind in ((person["id_number"].lower(), "id_number"), (person["phone"], "phone")):
        found = search.search(db, {"q": q}, "admin")
        assert found["taken_as"] == kind and found["counts"]["person"] == 1, q
        assert policy_no in str(found["items"]), q
    assert search.search(db, {"q": person["phone"]}, "admin")["counts"]["complaint"] == 1

    # identification of a customer: ID number + phone, and caller number + last six
    bound = bindings.bind(db, {"channel": "web", "user": "web-sealed-1",
                               "id_number": person["id_number"].lower(),
                               "phone": person["phone"]}, "bot")
    assert policy_no in bound["policies"]
    caller = bindings.bind(db, {"channel": "ivr", "user": person["phone"],
                                "phone": person["phone"],
                                "id_last6": person["id_number"][-6:].lower()}, "bot")
    assert policy_no in caller["policies"]


def test_the_same_id_number_is_refused_in_any_spelling(db: Database, factory: Factory) -> None:
    person = _x_person(factory)
    with db.transaction() as s:
        s.add(Party(name="甲", gender="male", birth_date=date(1955, 3, 9),
                    id_number=person["id_number"]))
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(Party(name="乙", gender="male", birth_date=date(1955, 3, 9),
                    id_number=person["id_number"].lower()))
    with db.read() as s:
        assert [p.name for p in s.execute(select(Party)).scalars()] == ["甲"]


def test_a_sealed_column_is_never_compared_in_sql() -> None:
    with pytest.raises(TypeError, match="sealed"):
        select(Party).where(Party.id_number == "110101199003070011")
    with pytest.raises(TypeError, match="sealed"):
        select(Party).where(Party.phone.in_(["13800000000"]))
    select(Party).where(Party.phone.is_(None))  # absent or not: allowed


def test_a_value_moved_to_another_kind_or_changed_does_not_open(
        test_keys: fieldseal.FieldKeys) -> None:
    sealed = fieldseal.seal("phone", "13800000001")
    assert fieldseal.unseal("phone", sealed) == "13800000001"
    with pytest.raises(fieldseal.Tampered):
        fieldseal.unseal("id_number", sealed)  # a phone pasted into an ID column
    body = sealed.rsplit(":", 1)[1]
    flipped = base64.b64decode(body)
    flipped = flipped[:-1] + bytes([flipped[-1] ^ 1])
    with pytest.raises(fieldseal.Tampered):
        fieldseal.unseal("phone", sealed.rsplit(":", 1)[0] + ":" +
                         base64.b64encode(flipped).decode())
    other = fieldseal.FieldKeys(Keyring.parse(Keyring.new_entry("test")), os.urandom(32))
    with pytest.raises(fieldseal.Tampered):  # same key id, another key
        fieldseal.unseal("phone", sealed, other)
    with pytest.raises(fieldseal.UnknownKey):
        fieldseal.unseal("phone", sealed,
                         fieldseal.FieldKeys(Keyring.parse(Keyring.new_entry("k9")),
                                             os.urandom(32)))
    elsewhere = fieldseal.FieldKeys.parse(Keyring.new_entry("k9"),
                                          base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(fieldseal.UnknownKey) as unknown:  # the operator is told which setting
        fieldseal.unseal("phone", sealed, elsewhere)
    assert "XIAOBAO_FIELDS_KEYS" in str(unknown.value) and "FILES" not in str(unknown.value)
    assert fieldseal.keyed_hash("phone", "13800000001", other) != fieldseal.keyed_hash(
        "phone", "13800000001")
    assert fieldseal.keyed_hash("phone", "138-0000-0001") == fieldseal.keyed_hash(
        "phone", "13800000001")
    # it is HMAC-SHA256 of "kind:normalised value" under the hash key, its first 128 bits
    assert fieldseal.keyed_hash("id_number", " 11010119900307001x ") == hmac.digest(
        test_keys.hash_key, b"id_number:11010119900307001X", "sha256").hex()[:32]
    # a fresh nonce every time: the same number never seals to the same text
    assert len({fieldseal.seal("phone", "13800000001") for _ in range(5000)}) == 5000


def test_a_batch_is_hashed_and_sealed_as_one_value_at_a_time(
        test_keys: fieldseal.FieldKeys) -> None:
    def reference(kind: str, value: str | None) -> str | None:  # RFC 2104, 128 bits kept
        plain = None if value is None else fieldseal.normalise(kind, value)
        return hmac.digest(test_keys.hash_key, f"{kind}:{plain}".encode(),
                           "sha256").hex()[:32] if plain else None

    phones = ["13800000001", None, "", "138-0000-0001", "(0754) 8888 1234", "１３８00000001",
              "13800000001"]
    assert fieldseal.keyed_hashes("phone", phones) == [reference("phone", p) for p in phones]
    assert fieldseal.keyed_hash("phone", "(0754) 8888 1234") == reference("phone", "07548888 1234")
    ids = [" 11010119900307001x ", "11010119900307001X", None, "  "]
    assert fieldseal.keyed_hashes("id_number", ids) == [reference("id_number", i) for i in ids]
    with pytest.raises(ValueError):
        fieldseal.keyed_hashes("passport", ["E1234567"])
    sealed = fieldseal.seal_many("phone", phones)
    assert [None if s is None else fieldseal.unseal("phone", s) for s in sealed] == phones
    assert sealed[1] is None
    # a fresh nonce per value, within a batch and across batches
    many = fieldseal.seal_many("id_number", ["11010119900307001X"] * 5000) + \
        fieldseal.seal_many("id_number", ["11010119900307001X"] * 5000)
    assert len(set(many)) == 10000
    nonces = {base64.b64decode(s.rsplit(":", 1)[1])[:12] for s in many}  # type: ignore[union-attr]
    assert len(nonces) == 10000
    with pytest.raises(fieldseal.Tampered):  # the kind is still the associated data
        fieldseal.unseal("phone", many[0])  # type: ignore[arg-type]
    assert fieldseal.seal_many("phone", []) == []


def test_rotation_keeps_every_row_readable(db: Database, factory: Factory,
                                           test_keys: fieldseal.FieldKeys,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    people = [factory.person() for _ in range(3)]
    nos = [_issued_with_card(db, factory, p) for p in people]
    new_entry = Keyring.new_entry("k2")
    old_entry = os.environ["XIAOBAO_FIELDS_KEYS"]
    # step 1: every process gets the new key first, the old one still listed
    monkeypatch.setenv("XIAOBAO_DATABASE_URL", db.url)
    monkeypatch.setenv("XIAOBAO_FIELDS_KEYS", f"{new_entry},{old_entry}")
    assert cli.main(["fields", "rewrap"]) == 0
    tally = capsys.readouterr().out.strip().splitlines()[-1]
    assert '"failed": []' in tally and '"changed": 0' not in tally
    with db.engine.connect() as conn:
        stored = [v for (v,) in conn.execute(text(
            "SELECT id_number FROM parties UNION ALL SELECT phone FROM parties "
            "UNION ALL SELECT debit_account FROM policies WHERE debit_account IS NOT NULL"))]
    assert stored and all(v.startswith("x1:k2:") for v in stored)
    # a second run has nothing to do
    assert cli.main(["fields", "rewrap"]) == 0
    assert '"changed": 0' in capsys.readouterr().out.strip().splitlines()[-1]
    # step 2: the old key dropped: everything still opens, the lookups still find
    fieldseal.install(fieldseal.FieldKeys.parse(new_entry, os.environ[
        "XIAOBAO_FIELDS_HASH_KEY"]))
    assert fieldrewrap.check_keys(db) is None
    for person, no in zip(people, nos, strict=True):
        items = lookup.policies_for_id_number(db, {"id_number": person["id_number"]}, "a")
        assert [i["policy_no"] for i in items] == [no]
        assert items[0]["insured"]["phone"].endswith(person["phone"][-4:])
    with db.read() as s:
        assert {p.id_number for p in s.execute(select(Party)).scalars()} == {
            p["id_number"] for p in people}
    # without the new key the old one alone does not open them: a clear refusal
    fieldseal.install(test_keys)
    assert "k2" in (fieldrewrap.check_keys(db) or "")


def _serve(db: Database, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XIAOBAO_FIELDS_")}
    environ.update({"XIAOBAO_DATABASE_URL": db.url, "XIAOBAO_VAR_DIR": str(tmp_path),
                    "XIAOBAO_LOG_LEVEL": "WARNING", **env})
    return subprocess.run([sys.executable, "-m", "xiaobao.cli", "serve", "--port", "0",
                           "--no-scheduler"], env=environ, capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[3])


def test_serve_refuses_without_keys_or_with_wrong_ones(db: Database, factory: Factory,
                                                       tmp_path: Path) -> None:
    factory.issued()
    files_key = Keyring.new_entry("f1")
    missing = _serve(db, tmp_path, XIAOBAO_FILES_KEYS=files_key, XIAOBAO_FILES_DEMO_KEY="0")
    assert missing.returncode == cli.NO_FIELDS_KEY
    assert "XIAOBAO_FIELDS_KEYS" in missing.stderr and "Traceback" not in missing.stderr
    # a key under the same id but not the one the rows were sealed with
    wrong = _serve(db, tmp_path, XIAOBAO_FILES_KEYS=files_key,
                   XIAOBAO_FIELDS_KEYS=Keyring.new_entry("test"),
                   XIAOBAO_FIELDS_HASH_KEY=os.environ["XIAOBAO_FIELDS_HASH_KEY"])
    assert wrong.returncode == cli.NO_FIELDS_KEY
    assert "密钥不对" in wrong.stderr and "Traceback" not in wrong.stderr
    # the right encryption key but another hash key: the lookups would find nobody
    wrong_hash = _serve(db, tmp_path, XIAOBAO_FILES_KEYS=files_key,
                        XIAOBAO_FIELDS_KEYS=os.environ["XIAOBAO_FIELDS_KEYS"],
                        XIAOBAO_FIELDS_HASH_KEY=fieldseal.FieldKeys.new_hash_key())
    assert wrong_hash.returncode == cli.NO_FIELDS_KEY
    assert "XIAOBAO_FIELDS_HASH_KEY" in wrong_hash.stderr
    assert "Traceback" not in wrong_hash.stderr
    # a setting that is not a key at all
    bad = _serve(db, tmp_path, XIAOBAO_FILES_KEYS=files_key, XIAOBAO_FIELDS_KEYS="k1:short",
                 XIAOBAO_FIELDS_HASH_KEY="AAAA")
    assert bad.returncode != 0 and "XIAOBAO_FIELDS_KEYS" in bad.stderr
    assert "Traceback" not in bad.stderr and "short" not in bad.stderr


def test_migration_seals_rows_written_before_it(db: Database) -> None:
    """Rows in clear under 0032 (inserted with raw SQL) are sealed and hashed by 0033, and
    opened again by its downgrade."""
    downgrade(db, "0032")
    assert current_revision(db) == "0032"
    idn = make_id_number("440514", date(1950, 1, 2), 7)
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO parties (name, gender, birth_date, id_number, phone, created_at,"
            " updated_at) VALUES ('旧', 'male', '1950-01-02', :i, '13900000007',"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"i": idn.lower()})
        pid = conn.execute(text("SELECT id FROM parties")).scalar_one()
    upgrade(db)
    with db.engine.connect() as conn:
        stored, id_hash, phone, phone_hash = conn.execute(text(
            "SELECT id_number, id_number_hash, phone, phone_hash FROM parties")).one()
    assert stored.startswith("x1:test:") and phone.startswith("x1:test:")
    assert id_hash == fieldseal.keyed_hash("id_number", idn)
    assert phone_hash == fieldseal.keyed_hash("phone", "13900000007")
    with db.read() as s:
        party = s.get(Party, pid)
        assert party is not None and party.id_number == idn.lower()
    downgrade(db, "0032")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT id_number, phone FROM parties")).one() == (
            idn.lower(), "13900000007")
    upgrade(db)


def test_roster_import_seals_finds_again_and_matches_any_spelling(db: Database,
                                                                  factory: Factory) -> None:
    """The roster import's set statements (SQLite and PostgreSQL) match parties by keyed
    hash: a party already known (made by an application, ID number with X) is enrolled, not
    created twice; the same file again imports nothing; what is stored is sealed."""
    known = _x_person(factory)
    policy_no = _issued_with_card(db, factory, known)  # the party exists before the import
    scheme = group.create_group_policy(db, {"product_code": "CN-ELDER-ACC",
                                            "applicant_name": "汕头市潮南区人民政府",
                                            "start_date": "2026-01-01"}, "admin")["policy_no"]
    fresh = factory.person(date(1958, 2, 20), area="440514")
    lines = ["name,gender,birth_date,id_number,phone,address\n"] + [
        f"{p['name']},男,{p['birth_date']},{idn},{p['phone']},{p['address']}\n"
        for p, idn in ((known, known["id_number"].lower()), (fresh, fresh["id_number"]))]
    first = group.import_roster(db, scheme, lines, "importer", date(2026, 3, 1))
    assert (first.imported, first.skipped, first.errors) == (2, 0, [])
    again = group.import_roster(db, scheme, lines, "importer", date(2026, 3, 1))
    assert (again.imported, again.skipped) == (0, 2)
    with db.read() as s:
        assert len(s.execute(select(Party)).scalars().all()) == 2
    assert [i["policy_no"] for i in lookup.policies_for_id_number(
        db, {"id_number": known["id_number"]}, "a")] == [policy_no, scheme]
    assert [i["policy_no"] for i in lookup.policies_for_id_number(
        db, {"id_number": fresh["id_number"]}, "a")] == [scheme]
    dump = _raw_dump(db)
    for clear in (known["id_number"], fresh["id_number"], fresh["phone"]):
        assert clear not in dump
