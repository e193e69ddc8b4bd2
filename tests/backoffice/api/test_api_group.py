"""Group policies over HTTP: the CN-ELDER-ACC scheme, roster upload, member look-up and
auto-enrollment."""

from __future__ import annotations

from datetime import date, timedelta

from api_testkit import Api, bad_check_digit, id_number, roster_csv

from backoffice.services.base import today_cn
from backoffice.services.group import BATCH
from backoffice.store.db import Database
from backoffice.store.models import Party, Resident

AREA = "440514"
CSV = {"Content-Type": "text/csv; charset=utf-8"}


def elder(seq: int, birth: date = date(1950, 3, 15)) -> str:
    return id_number(birth, seq, AREA)


def good_rows() -> list[tuple[str, ...]]:
    return [
        ("陈阿婆", "女", "1950-03-15", elder(2), "13800000001", "潮南区峡山街道1号"),
        ("林阿公", "男", "1948-11-02", elder(3, date(1948, 11, 2)), "0754-87654321",
         "潮南区两英镇2号"),
        ("黄阿伯", "male", "1955-01-31", elder(5, date(1955, 1, 31)), "13800000003",
         "潮南区陈店镇3号"),
    ]


async def create_scheme(api: Api, start: date | None = None) -> str:
    start = start or today_cn()
    g = await api.post("/group-policies", {"product_code": "CN-ELDER-ACC",
                                           "applicant_name": "汕头市潮南区民政局",
                                           "start_date": start.isoformat(),
                                           "actor": "ops-chen"}, expect=201)
    assert g["product_code"] == "CN-ELDER-ACC"
    assert g["start_date"] == start.isoformat()
    assert g["end_date"] == date(start.year + 1, start.month, start.day).isoformat()
    assert g["policy_no"].startswith("G")
    return str(g["policy_no"])


async def test_group_policy_roster_upload_and_member_lookup(api: Api) -> None:
    no = await create_scheme(api)
    detail = await api.get(f"/policies/{no}", expect=200)
    assert detail["kind"] == "group" and detail["status"] == "in_force"
    assert {c["code"] for c in detail["coverages"]} == {
        "accidental_death", "transport_death", "accidental_disability", "hospital_allowance"}

    young = id_number(date(1990, 6, 1), 8, AREA)
    rows = [
        *good_rows(),  # lines 2–4
        ("错号码", "女", "1950-03-15", bad_check_digit(elder(10)), "13800000004", "地址"),
        ("年轻人", "女", "1990-06-01", young, "13800000005", "地址"),  # 6: under 60
        ("没电话", "女", "1950-03-15", elder(12), "", "地址"),  # 7
        ("少一列", "女", "1950-03-15", elder(14), "13800000006"),  # 8
        ("生日错", "女", "1950-03-16", elder(16), "13800000007", "地址"),  # 9
        ("重复", "女", "1950-03-15", elder(2), "13800000008", "地址"),  # 10: as line 2
        ("性别错", "女", "1950-03-15", elder(17), "13800000009", "地址"),  # 11: odd is male
        ("", "女", "1950-03-15", elder(18), "13800000010", "地址"),  # 12
    ]
    csv_body = roster_csv(rows)
    result = await api.call("POST", f"/group-policies/{no}/roster", data=csv_body,
                            headers=CSV, expect=200)
    assert result["imported"] == 3
    assert result["skipped"] == 0
    problems = [(e["line"], e["field"]) for e in result["errors"]]
    assert problems == [(5, "id_number"), (6, "birth_date"), (7, "phone"), (8, "row"),
                        (9, "birth_date"), (10, "id_number"), (11, "gender"), (12, "name")]
    assert all(e["message"] for e in result["errors"])

    again = await api.call("POST", f"/group-policies/{no}/roster", data=csv_body,
                           headers=CSV, expect=200)
    assert (again["imported"], again["skipped"]) == (0, 3)
    assert again["errors"] == result["errors"]

    # a member's look-up shows the scheme and its coverages
    member = elder(3, date(1948, 11, 2))
    found = await api.get(f"/policies?id_number={member}", expect=200)
    assert len(found["items"]) == 1
    item = found["items"][0]
    assert (item["policy_no"], item["product_code"], item["status"]) == (
        no, "CN-ELDER-ACC", "in_force")
    assert item["kind"] == "group" and item["covered"] is True
    assert item["insured"]["name"] == "林阿公"
    assert item["insured"]["phone"] != "0754-87654321"  # masked
    assert {c["code"]: c["sum_insured"] for c in item["coverages"]} == {
        "accidental_death": "3000.00", "transport_death": "100000.00",
        "accidental_disability": "3000.00", "hospital_allowance": "5400.00"}
    assert await api.get(f"/policies?id_number={young}", expect=200) == {"items": []}

    detail = await api.get(f"/policies/{no}", expect=200)
    assert detail["premium"]["annual"] == "30.00"  # 3 insureds × 10.00
    html = await api.get(f"/policies/{no}/document", expect=200)
    assert no in html and "意外住院津贴" in html

    log = await api.get(f"/audit?entity_type=policy&entity_id={no}", expect=200)
    first = log["items"][0]
    assert (first["action"], first["actor"]) == ("issue_group", "api")  # not the body's
    assert [x["after"]["imported"] for x in log["items"] if x["action"] == "import_roster"] == [
        3, 0]


async def test_roster_that_is_not_utf8_changes_nothing(api: Api) -> None:
    no = await create_scheme(api)
    first = await api.call("POST", f"/group-policies/{no}/roster",
                           data=roster_csv(good_rows()[:1]), headers=CSV, expect=200)
    assert first["imported"] == 1

    # more good rows than one write batch first: some are written before the bad bytes
    newcomers = []
    for i in range(BATCH + 1000):  # the last 1000 rows are well past one read buffer
        birth = date(1940, 1, 1) + timedelta(days=i // 450)
        newcomers.append((f"新人{chr(0x4E00 + i % 5000)}", "女", birth.isoformat(),
                          id_number(birth, 2 * (i % 450) + 2, AREA), f"138{i:08d}", "潮南区"))
    good_part = roster_csv(newcomers)
    gbk_row = f"坏编码,女,1950-03-15,{elder(998)},13800000000,潮南区\n".encode("gbk")
    await api.error("POST", f"/group-policies/{no}/roster", 400, "invalid", "file",
                    data=good_part + gbk_row, headers=CSV)
    await api.error("POST", f"/group-policies/{no}/roster", 400, "invalid", "file",
                    data="name,gender\n张三,男\n".encode("gbk") + b"\xff\xfe", headers=CSV)
    gbk_file = roster_csv(good_rows()).decode("utf-8").encode("gbk")
    await api.error("POST", f"/group-policies/{no}/roster", 400, "invalid", "file",
                    data=gbk_file, headers=CSV)

    # nobody from the refused files was enrolled or even registered
    for person_id in (newcomers[0][3], newcomers[-1][3], elder(998), good_rows()[1][3]):
        assert await api.get(f"/policies?id_number={person_id}", expect=200) == {"items": []}
    await api.error("GET", f"/parties/{newcomers[0][3]}", 404, "not_found", "id_number")
    detail = await api.get(f"/policies/{no}", expect=200)
    assert detail["premium"]["annual"] == "10.00"
    log = await api.get(f"/audit?entity_type=policy&entity_id={no}", expect=200)
    assert [x["action"] for x in log["items"]].count("import_roster") == 1

    # the same people in UTF-8 go in
    ok = await api.call("POST", f"/group-policies/{no}/roster", data=good_part, headers=CSV,
                        expect=200)
    assert (ok["imported"], ok["errors"]) == (len(newcomers), [])


async def test_roster_refusals(api: Api) -> None:
    no = await create_scheme(api)
    path = f"/group-policies/{no}/roster"
    await api.error("POST", path, 400, "invalid", "file", data=b"", headers=CSV)
    await api.error("POST", path, 400, "invalid", "header", data=b"\n", headers=CSV)
    await api.error("POST", path, 400, "invalid", "header",
                    data="姓名,性别\n张三,男\n".encode(), headers=CSV)
    only_header = await api.call("POST", path, data=roster_csv([]), headers=CSV, expect=200)
    assert only_header == {"imported": 0, "skipped": 0, "errors": []}
    bom = b"\xef\xbb\xbf" + roster_csv(good_rows()[:1])
    assert (await api.call("POST", path, data=bom, headers=CSV, expect=200))["imported"] == 1
    crlf = roster_csv(good_rows()[1:2]).replace(b"\n", b"\r\n")
    assert (await api.call("POST", path, data=crlf, headers=CSV, expect=200))["imported"] == 1

    await api.error("POST", "/group-policies/G20269999999/roster", 404, "not_found",
                    "policy_no", data=roster_csv(good_rows()), headers=CSV)
    await api.error("POST", "/group-policies", 400, "invalid", "product_code",
                    {"product_code": "PA-GUARD", "applicant_name": "某公司",
                     "start_date": "2026-01-01"})
    await api.error("POST", "/group-policies", 404, "not_found", "product_code",
                    {"product_code": "NO-SUCH", "applicant_name": "某公司",
                     "start_date": "2026-01-01"})
    await api.error("POST", "/group-policies", 400, "invalid", "applicant_name",
                    {"product_code": "CN-ELDER-ACC", "applicant_name": "  ",
                     "start_date": "2026-01-01"})
    await api.error("POST", "/group-policies", 400, "invalid", "start_date",
                    {"product_code": "CN-ELDER-ACC", "applicant_name": "某单位",
                     "start_date": "2026-02-30"})


async def test_roster_on_an_individual_policy_is_refused(api: Api) -> None:
    from api_testkit import issue_policy

    policy = await issue_policy(api)
    await api.error("POST", f"/group-policies/{policy['policy_no']}/roster", 400, "invalid",
                    "policy_no", data=roster_csv(good_rows()), headers=CSV)
    await api.error("POST", f"/group-policies/{policy['policy_no']}/auto-enrollment", 400,
                    "invalid", "policy_no", {})


def add_residents(db: Database, people: list[tuple[str, str, date, str]]) -> None:
    with db.transaction() as s:
        for name, idn, birth, area in people:
            party = Party(name=name, gender="female", birth_date=birth, id_number=idn)
            s.add(party)
            s.flush()
            s.add(Resident(party_id=party.id, area_code=area, registered_on=date(2000, 1, 1)))


async def test_auto_enrollment_of_residents_who_reach_sixty(api: Api, db: Database) -> None:
    no = await create_scheme(api, date(2026, 1, 1))
    as_of = date(2026, 7, 1)
    turned_60_in_may = date(1966, 5, 20)
    turns_60_in_june = date(1966, 6, 10)  # covered from 1 July
    turns_60_in_july = date(1966, 7, 1)  # not yet
    long_60 = date(1940, 1, 1)
    people = [
        ("甲", id_number(turned_60_in_may, 2, AREA), turned_60_in_may, AREA),
        ("乙", id_number(turns_60_in_june, 4, AREA), turns_60_in_june, AREA),
        ("丙", id_number(turns_60_in_july, 6, AREA), turns_60_in_july, AREA),
        ("丁", id_number(long_60, 8, AREA), long_60, AREA),
        ("戊", id_number(long_60, 10, "440513"), long_60, "440513"),  # another district
    ]
    add_residents(db, people)
    path = f"/group-policies/{no}/auto-enrollment"
    assert await api.post(path, {"as_of": as_of.isoformat(), "actor": "scheduler"},
                          expect=200) == {"enrolled": 3}
    assert await api.post(path, {"as_of": as_of.isoformat()}, expect=200) == {"enrolled": 0}

    enrolled = {}
    for name, idn, _, _ in people:
        items = (await api.get(f"/policies?id_number={idn}", expect=200))["items"]
        enrolled[name] = items[0]["enrolled_on"] if items else None
    assert enrolled == {"甲": "2026-06-01", "乙": "2026-07-01", "丙": None,
                        "丁": "2026-01-01", "戊": None}

    later = await api.post(path, {"as_of": (as_of + timedelta(days=31)).isoformat()},
                           expect=200)
    assert later == {"enrolled": 1}
    detail = await api.get(f"/policies/{no}", expect=200)
    assert detail["premium"]["annual"] == "40.00"
    await api.error("POST", path, 400, "invalid", "as_of", {"as_of": "2026-13-01"})
    await api.error("POST", "/group-policies/G20260000000999/auto-enrollment", 404,
                    "not_found", "policy_no", {})
