"""Helpers for the API tests: an authenticated client that checks every answer against the
OpenAPI document, and builders for valid requests."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient
from openapi_schema_validator import OAS31Validator, oas31_format_checker

from backoffice.api.operations import openapi_document
from backoffice.domain.identity import make_id_number

TOKEN = "test-token-0123456789"
PREFIX = "/api/v1"
DOC = openapi_document()
HEALTH_NO = {"hospitalised_now": False, "disability_existing": False, "epilepsy": False,
             "hypertension": False, "diabetes": False}
MONEY = re.compile(r"^-?\d+\.\d{2}$")


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p)
                                    for p in parts) + "$")


TEMPLATES = [(_template_regex(t), t) for t in DOC["paths"]]


def template_of(path: str) -> str | None:
    """The documented path template a concrete path (without /api/v1) matches."""
    path = path.split("?", 1)[0]
    matches = [t for rx, t in TEMPLATES if rx.match(path)]
    # a literal segment beats a parameter: prefer the template with fewest parameters
    return min(matches, key=lambda t: t.count("{")) if matches else None


def schema_errors(schema: dict[str, Any], value: Any) -> list[str]:
    root = {**schema, "components": DOC["components"]}
    validator = OAS31Validator(root, format_checker=oas31_format_checker)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(value)]


def response_schema(method: str, template: str, status: int) -> dict[str, Any] | None:
    """The JSON schema the document promises for this answer (None: not JSON)."""
    operation = DOC["paths"][template][method.lower()]
    response = operation["responses"].get(str(status))
    assert response is not None, f"{method} {template}: status {status} not documented"
    if "$ref" in response:
        response = DOC["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    content = response.get("content", {})
    return content["application/json"]["schema"] if "application/json" in content else None


class Api:
    """An authenticated client for /api/v1 that holds every answer to the document."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def call(self, method: str, path: str, *, json_body: Any = None,
                   data: bytes | str | None = None, headers: dict[str, str] | None = None,
                   auth: bool = True, expect: int | None = None,
                   check_doc: bool = True) -> Any:
        hdrs = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
        hdrs.update(headers or {})
        kwargs: dict[str, Any] = {"headers": hdrs}
        if data is not None:
            kwargs["data"] = data
        elif json_body is not None:
            kwargs["data"] = json.dumps(json_body, ensure_ascii=False)
            hdrs.setdefault("Content-Type", "application/json")
        async with self.client.request(method, PREFIX + path, **kwargs) as resp:
            raw = await resp.read()
            status, ctype = resp.status, resp.content_type
        text = raw.decode("utf-8", errors="replace")
        assert status < 500, f"{method} {path} → {status}: {text[:500]}"
        if expect is not None:
            assert status == expect, f"{method} {path} → {status}, wanted {expect}: {text[:800]}"
        if ctype != "application/json":
            return text
        value = json.loads(text)
        template = template_of(path)
        if status >= 400:
            assert set(value) == {"error"} and set(value["error"]) == {"code", "message",
                                                                         "field"}, value
        if template is not None and check_doc and status != 405:
            schema = response_schema(method, template, status)
            assert schema is not None, f"{method} {template} {status}: JSON not documented"
            problems = schema_errors(schema, value)
            assert not problems, f"{method} {path} → {status} breaks the document: {problems}"
        return value

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.call("POST", path, json_body=body, **kw)

    async def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.call("PATCH", path, json_body=body, **kw)

    async def error(self, method: str, path: str, status: int, code: str, field: str | None,
                    body: Any = None, **kw: Any) -> dict[str, Any]:
        """Send, and assert a 4xx naming the code and the field."""
        if body is not None and "data" not in kw:
            kw["json_body"] = body
        answer = await self.call(method, path, expect=status, **kw)
        err = answer["error"]
        assert (err["code"], err["field"]) == (code, field), err
        assert err["message"], err
        return err


# ---- request builders ------------------------------------------------------------------------

def id_number(birth: date, seq: int = 123, area: str = "110101") -> str:
    return make_id_number(area, birth, seq)


def bad_check_digit(idn: str) -> str:
    last = "0" if idn[-1] != "0" else "1"
    return idn[:-1] + last


def person(name: str = "张三", birth: date = date(1980, 5, 6), seq: int = 123,
           **extra: Any) -> dict[str, Any]:
    return {"name": name, "id_number": id_number(birth, seq), "phone": "13800138000",
            "occupation_class": 1, **extra}


def application(insured: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "product_code": "PA-GUARD",
        "insured": insured or person(),
        "health_declarations": dict(HEALTH_NO),
        "payment_mode": "instalments",
        "frequency": "quarterly",
        "coverages": [{"code": "accidental_death_disability", "sum_insured": "100000.00"},
                      {"code": "accidental_medical", "sum_insured": "10000.00"}],
        **extra,
    }


async def issue_policy(api: Api, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Apply, underwrite, pay the first instalment and issue; the issued policy's detail."""
    app = await api.post("/applications", body or application(), expect=201)
    no = app["application_no"]
    uw = await api.post(f"/applications/{no}/underwriting", expect=200)
    assert uw["status"] == "accepted", uw["underwriting"]
    first = uw["premium_schedule"][0]["amount"]
    await api.post(f"/applications/{no}/payments", {"amount": first, "method": "wechat_pay"},
                   expect=201)
    issued = await api.post(f"/applications/{no}/issue", expect=200)
    assert issued["status"] == "in_force"
    return issued


def roster_csv(rows: list[tuple[str, ...]], header: str = "name,gender,birth_date,id_number,"
               "phone,address") -> bytes:
    return ("\n".join([header, *(",".join(r) for r in rows)]) + "\n").encode("utf-8")
