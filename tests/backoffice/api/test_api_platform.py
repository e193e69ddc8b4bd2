"""The platform around the API: bearer auth, /healthz, /metrics."""

from __future__ import annotations

import re
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from api_testkit import TOKEN, Api, issue_policy

from backoffice.clock import manual_clock
from xiaobao.config import Settings

WRONG = [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer 令牌"},
]


@pytest.mark.parametrize("headers", WRONG, ids=range(len(WRONG)))
@pytest.mark.parametrize("path", ["/products", "/policies?id_number=x", "/policies/P1",
                                  "/no-such-route"])
async def test_401_without_the_right_bearer_token(sqlite_api: Api, headers: dict[str, str],
                                                  path: str) -> None:
    await sqlite_api.error("GET", path, 401, "unauthorized", "Authorization", auth=False,
                           headers=headers)


async def test_401_on_writes_before_anything_is_read(sqlite_api: Api) -> None:
    await sqlite_api.error("POST", "/applications", 401, "unauthorized", "Authorization",
                           auth=False, data=b"not json")
    await sqlite_api.error("PATCH", "/parties/110101198005061237", 401, "unauthorized",
                           "Authorization", auth=False, body={"phone": "13900000000"})


async def test_token_in_the_query_string_does_not_count(sqlite_api: Api) -> None:
    await sqlite_api.error("GET", f"/products?token={TOKEN}", 401, "unauthorized",
                           "Authorization", auth=False)


async def test_right_token_passes(sqlite_api: Api) -> None:
    products = await sqlite_api.get("/products", expect=200)
    codes = {p["code"] for p in products["items"]}
    assert {"PA-GUARD", "CN-ELDER-ACC"} <= codes
    lower_scheme = await sqlite_api.get("/products/PA-GUARD", auth=False, expect=200,
                                        headers={"Authorization": f"bearer {TOKEN}"})
    assert lower_scheme["code"] == "PA-GUARD"


async def test_the_scheme_is_readable_as_the_bot_answers_from_it(sqlite_api: Api) -> None:
    """The bot's public answers read these: amounts by transport mode, the disability scale,
    who is insured, the time bar."""
    scheme = await sqlite_api.get("/products/CN-ELDER-ACC", expect=200)
    covers = {c["code"]: c for c in scheme["coverages"]}
    modes = {m["code"]: m for m in covers["transport_death"]["transport_modes"]}
    assert modes["motor_vehicle"]["amount"] == "30000.00"
    assert "公交车" in modes["motor_vehicle"]["includes"]
    assert modes["aircraft"]["amount"] == "100000.00"
    assert covers["accidental_disability"]["disability_percentages"]["8"] == "30"
    assert covers["hospital_allowance"]["exclusions"] == ["dental"]
    assert scheme["eligibility"]["min_age"] == 60 and scheme["time_bar_years"] == 2
    assert scheme["flat_premium_per_insured"] == "10.00"


async def test_unknown_api_route_is_a_json_404(sqlite_api: Api) -> None:
    err = await sqlite_api.error("GET", "/no-such-route", 404, "http_error", "path")
    assert err["message"]


async def test_a_method_the_route_does_not_take_is_a_405_saying_which_it_takes(
        sqlite_client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with sqlite_client.put("/api/v1/claims", headers=headers) as resp:
        assert resp.status == 405
        assert set(resp.headers["Allow"].split(",")) >= {"GET", "POST"}
        assert (await resp.json())["error"]["field"] == "method"


async def test_a_json_body_beyond_the_limit_is_413_naming_the_body(
        sqlite_client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    body = '{"description": "' + "x" * (2 * 1024 * 1024) + '"}'
    async with sqlite_client.post("/api/v1/complaints", data=body, headers=headers) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"]["field"] == "body"


async def test_healthz_needs_no_token_and_names_the_bot_not_up(
        sqlite_client: TestClient) -> None:
    """Nothing listens where these tests point the bot: the database is up, the platform
    cannot serve a channel message (tests/channels/test_readiness.py has every state)."""
    resp = await sqlite_client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] == "unavailable" and body["not_ready"] == ["bot"]
    assert body["parts"]["database"] == {"state": "up"}
    assert body["parts"]["bot"] == {"state": "starting", "detail": "refused"}


async def test_metrics_count_requests_by_route_template(api: Api, client: TestClient) -> None:
    policy = await issue_policy(api)
    no = policy["policy_no"]
    for _ in range(3):
        await api.get(f"/policies/{no}", expect=200)
    await api.get("/policies/P19990000000000", expect=404)
    await api.get("/no/such/thing", expect=404)

    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    text = await resp.text()
    assert "# TYPE xiaobao_http_requests_total counter" in text
    assert "# TYPE xiaobao_http_request_seconds histogram" in text

    def count(route: str, status: str, method: str = "GET") -> float:
        pattern = (rf'^xiaobao_http_requests_total\{{method="{method}",'
                   rf'route="{re.escape(route)}",status="{status}"\}} (\S+)$')
        found = re.search(pattern, text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    assert count("/api/v1/policies/{policy_no}", "200") == 3
    assert count("/api/v1/policies/{policy_no}", "404") == 1
    assert count("/api/v1/applications", "201", "POST") == 1
    assert count("/api/v1/applications/{application_no}/issue", "200", "POST") == 1
    # numbers stay out of the labels: a label set per policy would grow without bound
    labels = re.findall(r'route="([^"]*)"', text)
    assert labels
    assert not any(no in label or "P1999" in label or "A20" in label for label in labels)
    assert not any(re.search(r"\d{6,}", label) for label in labels), labels


async def test_metrics_count_unauthorised_and_unmatched_requests(
        sqlite_client: TestClient) -> None:
    await sqlite_client.get("/api/v1/products")
    await sqlite_client.get("/nowhere/12345678")
    text = await (await sqlite_client.get("/metrics")).text()
    assert 'route="/api/v1/products",status="401"' in text
    assert "/nowhere/12345678" not in text


async def test_the_policy_document_link_opens_without_a_token_and_only_with_its_signature(
        api: Api, client: TestClient) -> None:
    policy = await issue_policy(api)
    no = policy["policy_no"]
    detail = await api.get(f"/policies/{no}", expect=200)
    url = detail["document_url"]
    assert url.startswith(f"/documents/policies/{no}?exp=")
    resp = await client.get(url)
    assert resp.status == 200
    page = await resp.text()
    assert no in page and "电子保险单" in page
    for coverage in detail["coverages"]:
        assert coverage["name"] in page
    forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    assert (await client.get(forged)).status == 403
    assert (await client.get(f"/documents/policies/{no}")).status == 403
    other = url.replace(no, "P20269999999999")
    assert (await client.get(other)).status == 403


async def refused(client: TestClient, url: str) -> str:
    resp = await client.get(url)
    assert resp.status == 403
    return await resp.text()


def with_query(url: str, **changes: str) -> str:
    path, _, query = url.partition("?")
    params = dict(urllib.parse.parse_qsl(query))
    return f"{path}?{urllib.parse.urlencode({**params, **changes})}"


async def test_a_document_link_expires_after_its_days_and_says_so(
        api: Api, client: TestClient) -> None:
    no = (await issue_policy(api))["policy_no"]
    url = (await api.get(f"/policies/{no}", expect=200))["document_url"]
    exp = int(dict(urllib.parse.parse_qsl(url.partition("?")[2]))["exp"])
    assert abs(exp - (datetime.now(UTC) + timedelta(days=30)).timestamp()) < 120
    with manual_clock(datetime.now(UTC) + timedelta(days=29)):
        assert (await client.get(url)).status == 200
    with manual_clock(datetime.now(UTC) + timedelta(days=30, minutes=5)):
        assert "已过期" in await refused(client, url)


async def test_a_tampered_or_swapped_link_is_invalid_not_expired(
        api: Api, client: TestClient) -> None:
    no = (await issue_policy(api))["policy_no"]
    other = (await issue_policy(api))["policy_no"]
    url = (await api.get(f"/policies/{no}", expect=200))["document_url"]
    exp = int(dict(urllib.parse.parse_qsl(url.partition("?")[2]))["exp"])
    longer = with_query(url, exp=str(exp + 365 * 86400))
    swapped = url.replace(f"/policies/{no}?", f"/policies/{other}?")
    for bad in (longer, swapped, with_query(url, v="1"), with_query(url, exp="-1"),
                with_query(url, exp="１２３"), url.replace(no, "P20269999999999")):
        text = await refused(client, bad)
        assert "无效" in text and "过期" not in text
    with manual_clock(datetime.now(UTC) + timedelta(days=400)):
        assert "无效" in await refused(client, longer)  # the forged expiry buys nothing


async def test_revoking_ends_every_earlier_link_and_a_new_one_works(
        api: Api, client: TestClient) -> None:
    no = (await issue_policy(api))["policy_no"]
    other = (await issue_policy(api))["policy_no"]
    old = (await api.get(f"/policies/{no}", expect=200))["document_url"]
    kept = (await api.get(f"/policies/{other}", expect=200))["document_url"]
    answer = await api.post(f"/policies/{no}/document-links/revocation", expect=200)
    assert answer["policy_no"] == no and answer["document_link_revision"] == 1
    assert "撤销" in await refused(client, old)
    assert (await client.get(answer["document_url"])).status == 200
    fresh = (await api.get(f"/policies/{no}", expect=200))["document_url"]
    assert (await client.get(fresh)).status == 200
    assert (await client.get(kept)).status == 200  # another policy's links stay
    audit = await api.get(f"/audit?entity_type=policy&entity_id={no}", expect=200)
    assert any(e["action"] == "revoke_document_links" for e in audit["items"])
    await api.error("POST", "/policies/P20269999999999/document-links/revocation", 404,
                    "not_found", "policy_no")


def test_the_link_lifetime_is_a_setting(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    monkeypatch.setenv("XIAOBAO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("XIAOBAO_DOCUMENT_LINK_DAYS", "7")
    assert Settings.from_env().document_link_lifetime == timedelta(days=7)
    for wrong in ("0", "7.5", "-1", "1000"):
        monkeypatch.setenv("XIAOBAO_DOCUMENT_LINK_DAYS", wrong)
        with pytest.raises(SystemExit):
            Settings.from_env()


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/claims", "/api/v1/quotes",
                                  "/chat/messages", "/desk/login"])
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "GZIP, identity"])
async def test_a_compressed_body_is_refused_before_it_is_read(
        sqlite_client: TestClient, path: str, encoding: str) -> None:
    """A body that claims a compression is refused (415 naming the header), never inflated:
    a small gzip bomb would otherwise grow without bound, and a false claim was a 500."""
    import gzip

    for body in (b'{"a": 1}', gzip.compress(b"a" * 10_000_000)):
        resp = await sqlite_client.post(path, data=body, headers={
            "Content-Encoding": encoding, "Content-Type": "application/json",
            "Authorization": f"Bearer {TOKEN}"})
        assert resp.status == 415, await resp.text()
        assert (await resp.json())["error"]["field"] == "Content-Encoding"
    resp = await sqlite_client.get("/healthz")
    assert (await resp.json())["parts"]["database"] == {"state": "up"}
