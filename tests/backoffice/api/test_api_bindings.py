"""Channel bindings (interface 4): identification of a WeChat user or caller, over HTTP."""

from __future__ import annotations

from datetime import date

from api_testkit import Api, application, id_number, issue_policy, person
from sqlalchemy import select
from test_api_claims_kit import Scheme, clock, scheme  # noqa: F401 (fixtures)

from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import Party

BIRTH = date(1956, 3, 4)


async def _insured(api: Api) -> tuple[str, str]:
    idn = id_number(BIRTH, 317)
    policy = await issue_policy(api, application(person("陈秀兰", BIRTH, 317, phone="13822223333")))
    return idn, str(policy["policy_no"])


async def test_bind_by_phone_or_policy_and_read_back(api: Api) -> None:
    idn, policy_no = await _insured(api)
    await api.error("GET", "/bindings/wechat/o-abc", 404, "not_found", "user")

    bound = await api.post("/bindings", {"channel": "wechat", "user": "o-abc", "id_number": idn,
                                         "phone": "13822223333"}, expect=200)
    assert bound["party"] == {"name_masked": "陈**", "id_number_masked": idn[:6] + "********"
                              + idn[-4:], "phone_masked": "138****3333"}
    assert bound["policies"] == [policy_no]
    assert bound["open_claims"] == []
    assert await api.get("/bindings/wechat/o-abc", expect=200) == bound
    assert idn not in str(bound) and "13822223333" not in str(bound)

    by_policy = await api.post("/bindings", {"channel": "web", "user": "w1", "id_number": idn,
                                             "policy_no": policy_no}, expect=200)
    assert by_policy["policies"] == [policy_no]

    assert await api.call("DELETE", "/bindings/wechat/o-abc", expect=200) == {"unbound": True}
    await api.error("GET", "/bindings/wechat/o-abc", 404, "not_found", "user")
    await api.error("DELETE", "/bindings/wechat/o-abc", 404, "not_found", "user")


async def test_open_claims_newest_first(api: Api) -> None:
    idn, policy_no = await _insured(api)
    numbers = []
    for day in ("2026-01-05", "2026-01-09"):
        claim = await api.post("/claims", {
            "policy_no": policy_no, "insured_id_number": idn, "claim_type": "medical",
            "incident_date": day, "incident_place": "家里", "description": "摔倒",
            "reporter": {"name": "陈秀兰", "relation": "self", "phone": "13822223333"},
            "channel": "wechat"}, expect=201)
        numbers.append(claim["claim_no"])
    bound = await api.post("/bindings", {"channel": "wechat", "user": "o-1", "id_number": idn,
                                         "phone": "13822223333"}, expect=200)
    assert bound["open_claims"] == numbers[::-1]


async def test_mismatch_never_says_which_part_and_failures_are_limited(api: Api) -> None:
    idn, policy_no = await _insured(api)
    other = id_number(date(1950, 1, 1), 11, "440514")
    wrong = [
        {"id_number": idn, "phone": "13900000000"},
        {"id_number": other, "phone": "13822223333"},
        {"id_number": idn, "policy_no": "P20269999999999"},
    ]
    messages = set()
    for body in wrong:
        err = await api.error("POST", "/bindings", 403, "identity_mismatch", "id_number",
                              {"channel": "web", "user": "w-13700001111", **body})
        messages.add(err["message"])
    assert len(messages) == 1
    # a success clears the count; five failures in a row then lock the user out for a while
    await api.post("/bindings", {"channel": "web", "user": "w-13700001111", "id_number": idn,
                                 "phone": "13822223333"}, expect=200)
    for _ in range(5):
        await api.error("POST", "/bindings", 403, "identity_mismatch", "id_number",
                        {"channel": "wechat", "user": "guesser", "id_number": other,
                         "phone": "13822223333"})
    await api.error("POST", "/bindings", 429, "too_many_attempts", "id_number",
                    {"channel": "wechat", "user": "guesser", "id_number": idn,
                     "phone": "13822223333"})
    await api.error("GET", "/bindings/wechat/guesser", 404, "not_found", "user")


async def test_a_caller_number_alone_finds_nobody(api: Api) -> None:
    await _insured(api)
    for channel in ("ivr", "wechat", "web"):
        await api.error("GET", f"/bindings/{channel}/13822223333", 404, "not_found", "user")


async def test_bad_input_names_the_field(api: Api) -> None:
    idn, _ = await _insured(api)
    base = {"channel": "wechat", "user": "u", "id_number": idn, "phone": "13822223333"}
    await api.error("POST", "/bindings", 400, "invalid", "channel", {**base, "channel": "sms"})
    await api.error("POST", "/bindings", 400, "invalid", "user", {**base, "user": ""})
    await api.error("POST", "/bindings", 400, "invalid", "user", {**base, "user": "x" * 129})
    await api.error("POST", "/bindings", 400, "invalid", "id_number", {**base, "id_number": "1"})
    await api.error("POST", "/bindings", 400, "invalid", "phone", {**base, "phone": "123"})
    no_proof = {k: v for k, v in base.items() if k != "phone"}
    await api.error("POST", "/bindings", 400, "invalid", "phone", no_proof)
    await api.error("POST", "/bindings", 400, "invalid", "policy_no", {**no_proof,
                                                                        "policy_no": 5})
    await api.error("POST", "/bindings", 400, "invalid", "body", [1])
    await api.error("GET", "/bindings/sms/u", 400, "invalid", "channel")


async def test_a_claim_reported_for_a_bound_channel_user(api: Api) -> None:
    """The bot reports for a channel user identified in this conversation without asking the
    ID number again; a caller's number alone names no insured."""
    idn, policy_no = await _insured(api)
    body = {"policy_no": policy_no, "claim_type": "medical", "incident_date": "2026-01-07",
            "incident_place": "家门口", "description": "下楼梯摔倒",
            "reporter": {"name": "本人", "relation": "self", "phone": "13822223333"},
            "channel": "ivr"}
    await api.error("POST", "/claims", 404, "not_found", "insured",
                    {**body, "insured": {"channel": "ivr", "user": "13900001111"}})
    await api.error("POST", "/claims", 404, "not_found", "insured",
                    {**body, "insured": {"channel": "ivr", "user": "13822223333"}})
    # identified on this call: the caller's number and the ID number's last six
    await api.post("/bindings", {"channel": "ivr", "user": "call-1", "phone": "13822223333",
                                 "id_last6": idn[-6:]}, expect=200)
    by_phone = await api.post("/claims", {**body, "insured": {"channel": "ivr",
                                                              "user": "call-1"}},
                              expect=201)
    await api.post("/bindings", {"channel": "wechat", "user": "o-9", "id_number": idn,
                                 "phone": "13822223333"}, expect=200)
    by_openid = await api.post("/claims", {**body, "channel": "wechat",
                                           "insured": {"channel": "wechat", "user": "o-9"}},
                               expect=201)
    found = await api.get(f"/claims?insured_id_number={idn}", expect=200)
    assert {c["claim_no"] for c in found["items"]} == {by_phone["claim_no"],
                                                       by_openid["claim_no"]}


async def test_a_group_policys_number_proves_nobody(api: Api, scheme: Scheme  # noqa: F811
                                                   ) -> None:
    """Every member of a scheme shares its group policy number: with an ID number, or on the
    phone with a caller's number, it identifies nobody."""
    member = scheme.members[0]
    await api.error("POST", "/bindings", 403, "identity_mismatch", "id_number",
                    {"channel": "web", "user": "w-group-1", "id_number": member,
                     "policy_no": scheme.policy_no})
    with api.client.__dict__["db"].read() as s:
        phone = s.execute(select(Party.phone).where(
                Party.id_number_hash == keyed_hash("id_number", member))).scalar_one()
    if phone:
        err = await api.call("POST", "/bindings", expect=403, json_body={
            "channel": "ivr", "user": "call-group-1", "phone": phone,
            "policy_no": scheme.policy_no})
        assert err["error"]["code"] == "identity_mismatch"
