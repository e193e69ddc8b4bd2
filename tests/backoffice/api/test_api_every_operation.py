"""Every operation of the table, attacked: hostile path and query values and hostile bodies.

Generated from backoffice.api.operations, so an operation added to the table is attacked too.
No answer may be a 5xx, and every refusal names a field: the one attacked where it can tell.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from api_testkit import PREFIX, TOKEN

from backoffice.api.declare import Operation, query_names
from backoffice.api.operations import OPERATIONS

# well-formed values, so that a hostile value elsewhere is what the answer is about
GOOD_PATH = {"code": "PA-GUARD", "application_no": "A2026000001", "policy_no": "P2026000001",
             "id_number": "110101198005060123", "claim_no": "R202600000001",
             "document_id": "1", "letter_no": "L202600000001", "complaint_no": "C2026000001",
             "visit_no": "V2026000001", "conversation_id": "1", "channel": "wechat",
             "user": "o-someone", "request_no": "BQ2026000001", "appeal_no": "FH2026000001",
             "privacy_request_no": "GR2026000001", "task_id": "1"}
# a request line beyond 8,190 bytes is refused by the HTTP parser before any route (a bare 400)
LINE_LIMIT = 8190
HOSTILE = ["²", "４２", "١٢", "9" * 4_000, "9" * 10_000, "-1", "0", "1e999", "..%2F..%2Fetc",
           "%C2%B2", "%FF%FE", "%20", "x" * 5_000, "中文", "'; drop table claims; --", "NaN", "%00"]
DEEP = '{"a": ' + "[" * 60 + "1" + "]" * 60 + "}"
VERY_DEEP = "[" * 100_000 + "]" * 100_000
WRONG_TYPES: list[Any] = [[], {}, ["x"], {"x": 1}, 10 ** 30, -1, 1.5, True, "x" * 10_000,
                          "²", None, json.loads("[" * 40 + "]" * 40)]


def _path(op: Operation, **override: str) -> str:
    return PREFIX + re.sub(r"\{([^}]+)\}", lambda m: override.get(m[1], GOOD_PATH[m[1]]),
                           op.path)


def _body_fields(op: Operation) -> list[str]:
    if op.input is None or not op.reads_body:
        return []
    taken = {*op.path_fields, *op.headers.values(), *op.headers}
    return [f.alias or n for n, f in op.input.model_fields.items() if n not in taken]


def _query_fields(op: Operation) -> list[str]:
    if op.input is None or op.method not in ("GET", "DELETE"):
        return []
    return sorted(query_names(op.input) - set(op.path_fields))


async def _send(client: TestClient, method: str, url: str, body: str | bytes | None = None,
                params: dict[str, str] | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    async with client.request(method, url, data=body, params=params, headers=headers) as resp:
        raw = await resp.read()
        kind = resp.content_type
    value = json.loads(raw) if kind == "application/json" else raw
    return resp.status, value


def _check(status: int, answer: Any, where: str, field: str | None = None,
           line: int = 0) -> None:
    assert status < 500, (where, status, answer)
    if status == 400 and line > LINE_LIMIT:
        assert b"8190" in answer, (where, answer)
        return
    if status == 400:
        assert isinstance(answer, dict), (where, answer)
        error = answer["error"]
        assert error["field"], (where, answer)  # every refusal names a field
        assert error["message"], (where, answer)
        if field is not None:
            assert error["field"] in (field, "body") or error["field"].startswith(
                (f"{field}.", f"{field}[")), (where, field, answer)


def _ops_with(kind: str) -> list[Operation]:
    if kind == "path":
        return [op for op in OPERATIONS if op.path_fields]
    if kind == "query":
        return [op for op in OPERATIONS if _query_fields(op)]
    return [op for op in OPERATIONS if op.reads_body]


def _id(op: Operation) -> str:
    return f"{op.method} {op.path}"


@pytest.mark.parametrize("op", _ops_with("path"), ids=_id)
async def test_hostile_path_values(sqlite_client: TestClient, op: Operation) -> None:
    for name in op.path_fields:
        for value in HOSTILE:
            body = "{}" if op.reads_body else None
            url = _path(op, **{name: value})
            status, answer = await _send(sqlite_client, op.method, url, body)
            _check(status, answer, f"{_id(op)} {name}={value[:20]}", line=len(url))


@pytest.mark.parametrize("op", _ops_with("query"), ids=_id)
async def test_hostile_query_values(sqlite_client: TestClient, op: Operation) -> None:
    assert op.input is not None
    required = [f.alias or n for n, f in op.input.model_fields.items()
                if f.is_required() and n not in op.path_fields]
    for name in _query_fields(op):
        for value in HOSTILE:
            # the other required parameters well-formed, so the refusal is about this one
            params = {r: "x" for r in required if r != name} | {name: value}
            status, answer = await _send(sqlite_client, op.method, _path(op), params=params)
            _check(status, answer, f"{_id(op)} ?{name}={value[:20]}", name,
                   line=len(_path(op)) + len(value))


@pytest.mark.parametrize("op", _ops_with("body"), ids=_id)
async def test_hostile_bodies(sqlite_client: TestClient, op: Operation) -> None:
    url = _path(op)
    for raw in ("[1, 2]", '"text"', "17", "true", "{", "{\"a\": }", DEEP, VERY_DEEP,
                "\ud800".encode("utf-8", "surrogatepass"), b"\xff\xfe{}", '{"x": "\\u0000"}'):
        status, answer = await _send(sqlite_client, op.method, url, raw)
        _check(status, answer, f"{_id(op)} body {str(raw)[:20]}")
    for name in _body_fields(op):
        for value in WRONG_TYPES:
            body = json.dumps({name: value, "unknown_field": {"x": 1}, "actor": "admin"})
            status, answer = await _send(sqlite_client, op.method, url, body)
            _check(status, answer, f"{_id(op)} {name}={str(value)[:20]}")


def test_the_attacks_cover_every_operation() -> None:
    attacked = {_id(op) for kind in ("path", "query", "body") for op in _ops_with(kind)}
    plain = {_id(op) for op in OPERATIONS if op.input is None or not (
        op.path_fields or _query_fields(op) or op.reads_body)}
    assert attacked | plain == {_id(op) for op in OPERATIONS}
    assert len(attacked) >= 50
