"""The OpenAPI 3.1 document of /api/v1, generated from the table of operations.

The table's paths, parameters, request bodies and answers come from each operation's declaration
(backoffice.api.operations) and its types (the commands of the use cases, the answers of
backoffice.api.answers). What is written here is what no type says: the titles, the shared
scalar components (Money, Date…), the error answers and the facts the adjudication reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from backoffice.api.answers import Error, answer_schemas
from backoffice.api.declare import PUBLIC, Operation
from backoffice.domain.adjudication import TRANSPORT_MODES
from backoffice.views.exports import MEDIA as _EXPORT_MEDIA

EXPORT_MEDIA = tuple(m for f, m in _EXPORT_MEDIA.items())

Schema = dict[str, Any]
MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
AMOUNT_INPUT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"

ERRORS = {
    400: "Bad input: the field is named", 401: "Missing or wrong bearer token",
    403: "The caller's role may not do this", 404: "Not found",
    409: "Conflict or illegal state transition", 413: "Too large",
    422: "Refused by a business rule", 429: "Too many attempts: try again later",
    503: "A store the request needs is unavailable: try again after Retry-After",
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _scalars() -> dict[str, Schema]:
    """The shared scalar shapes the types refer to by name."""
    date = ref("Date")
    amount = ref("AmountInput")
    return {
        "Money": {"type": "string", "pattern": MONEY_PATTERN, "examples": ["1234.50"],
                  "description": "Amount in yuan as a decimal string with two decimals."},
        "AmountInput": {
            "description": "An amount sent in: a decimal string (at most two decimals) or a "
                           "whole number; never a float, never negative.",
            "oneOf": [{"type": "string", "pattern": AMOUNT_INPUT_PATTERN,
                       "examples": ["1234.50"]}, {"type": "integer", "minimum": 0}]},
        "Date": {"type": "string", "format": "date", "description": "A date, YYYY-MM-DD."},
        "Timestamp": {"type": "string", "format": "date-time",
                      "description": "ISO 8601 with offset."},
        "ClaimFacts": {
            "type": "object", "description": "Facts the adjudication reads, each optional by "
            "claim type; unknown keys are kept and ignored.",
            "properties": {
                "admission_date": date, "discharge_date": date, "death_date": date,
                "assessment_date": date,
                "hospital_days": {"type": "integer", "minimum": 0},
                "allowance_days_used_this_year": {"type": "integer", "minimum": 0},
                "hospital_level": {"type": "integer", "minimum": 1, "maximum": 3},
                "disability_levels": {"type": "array", "minItems": 1, "items": {
                    "type": "integer", "minimum": 1, "maximum": 10},
                    "description": "JR/T 0083-2013 levels."},
                "transport": {"type": "string", "enum": list(TRANSPORT_MODES)},
                "cause": {"type": "string", "description": "accident (default), or an "
                          "exclusion code such as disease."},
                "expenses": amount, "social_insurance_paid": amount,
                "out_of_scope_expenses": amount,
                "traffic_accident": {"type": "boolean", "description": "The report says "
                                     "the accident was a traffic or transport one."},
                "police_report": {"type": "boolean", "description": "The police were "
                                  "called and issued an accident report."},
                "scene_photos": {"type": "boolean", "description": "Photos of the scene "
                                 "were taken."},
                "ticket": {"type": "boolean", "description": "The ticket, boarding pass or "
                           "fare record of a public-transport journey is at hand."}}},
    }


class _Inputs(GenerateJsonSchema):
    """Commands as request schemas: no generated titles."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _input_schemas(models: list[type[BaseModel]]) -> tuple[dict[Any, Schema], Schema]:
    keyed, top = models_json_schema([(m, "validation") for m in models],
                                    ref_template="#/components/schemas/{model}",
                                    schema_generator=_Inputs)
    found = {model: _linked(keyed[(model, "validation")]) for model in models}
    return found, _linked(dict(top.get("$defs", {})))


def _linked(node: Any) -> Any:
    """Component markers of the field types (services.commands.ref) as `$ref`s."""
    if isinstance(node, dict):
        if "x-component" in node:
            rest = {k: _linked(v) for k, v in node.items() if k != "x-component"}
            return {"$ref": f"#/components/schemas/{node['x-component']}", **rest}
        out = {k: _linked(v) for k, v in node.items()}
        if "default" in out and out["default"] is None and not _admits_null(out):
            del out["default"]  # optional, yet not nullable: leave it out rather than null
        return out
    if isinstance(node, list):
        return [_linked(v) for v in node]
    return node


def _admits_null(schema: Schema) -> bool:
    kind = schema.get("type")
    return (kind == "null" or (isinstance(kind, list) and "null" in kind)
            or any(_admits_null(s) for s in [*schema.get("anyOf", ()), *schema.get("oneOf", ())]))


def _not_null(schema: Schema) -> Schema:
    """A path parameter is always there: its schema without the null a command allows."""
    kinds = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    return kinds[0] if len(kinds) == 1 else {k: v for k, v in schema.items() if k != "default"}


def _resolve(schema: Schema, components: dict[str, Schema]) -> Schema:
    while "$ref" in schema and len(schema) == 1:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _parameters(op: Operation, schema: Schema) -> list[Schema]:
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    out = [{"name": n, "in": "path", "required": True, "schema": _not_null(props.get(n, {}))}
           for n in op.path_fields]
    if op.method in ("GET", "DELETE"):
        out += [{"name": n, "in": "query", "required": n in required, "schema": s}
                for n, s in props.items() if n not in op.path_fields]
    out += [{"name": h, "in": "header", "required": h in required, "schema": props.get(h, {})}
            for h in op.headers.values()]
    if op.export:
        out.append({"name": "format", "in": "query", "required": False,
                    "description": "`csv` or `xlsx`: the items as a file (same filters and "
                    "masking; at most 5,000 rows; audited). Omitted: JSON.",
                    "schema": {"type": "string", "enum": ["json", "csv", "xlsx"]}})
    return out


def _body(op: Operation, schema: Schema, components: dict[str, Schema],
          taken: set[str]) -> Schema | None:
    """The command's fields not taken from a path or a header, as a named component."""
    if op.raw_body is not None:
        return {"required": True, "content": dict(op.raw_body)}
    if not op.reads_body or op.input is None:
        return None
    body = {k: v for k, v in schema.items() if k not in ("properties", "required", "title")}
    body["properties"] = {k: v for k, v in schema.get("properties", {}).items()
                          if k not in taken}
    if required := [r for r in schema.get("required", ()) if r not in taken]:
        body["required"] = required
    name = op.input.__name__
    components[name] = body
    return {"required": op.body_required and bool(required),
            "content": {"application/json": {"schema": ref(name)}}}


def _answer(op: Operation) -> Schema:
    ok: Schema = {"description": "Created" if op.status == 201 else "OK"}
    if op.media != "application/json":
        ok["content"] = {op.media: {"schema": {"type": "string"}}}
    elif op.answer is not None:
        ok["content"] = {"application/json": {"schema": ref(op.answer.__name__)}}
        if op.export:
            ok["content"].update({media: {"schema": {"type": "string", "format": "binary"}}
                                  for media in EXPORT_MEDIA})
    else:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    return ok


def _operation(op: Operation, inputs: dict[Any, Schema], components: dict[str, Schema],
               originals: dict[str, Schema], taken: set[str]) -> Schema:
    out: Schema = {"summary": op.summary, "tags": [op.tag], "operationId": op.operation_id}
    if op.description:
        out["description"] = op.description
    schema = _resolve(inputs[op.input], originals) if op.input is not None else {}
    if params := _parameters(op, schema):
        out["parameters"] = params
    if (body := _body(op, schema, components, taken)) is not None:
        out["requestBody"] = body
    responses: dict[str, Any] = {str(op.status): _answer(op)}
    for extra in op.also:
        responses[str(extra)] = _answer(op) | {"description": "OK"}
    if op.permission == PUBLIC:
        out["security"] = []
    codes = (400, *(() if op.permission == PUBLIC and op.path == "/openapi.json" else (401,)),
             *(() if op.permission == PUBLIC else (403,)), *op.errors)
    if op.path == "/openapi.json":
        codes = ()
    if op.reads_body or op.raw_body is not None:  # a body beyond the server's limit
        codes = (*codes, 413)
    for code in dict.fromkeys(codes):
        responses[str(code)] = {"$ref": f"#/components/responses/E{code}"}
    out["responses"] = dict(sorted(responses.items()))
    return out


def document_of(operations: Sequence[Operation]) -> Schema:
    """The document of a table of operations."""
    models = list(dict.fromkeys(op.input for op in operations if op.input is not None))
    inputs, input_defs = _input_schemas(models)
    answer_models = [Error, *(op.answer for op in operations if op.answer is not None)]
    answers = answer_schemas(answer_models)
    clash = set(answers) & {*input_defs, *(m.__name__ for m in models)}
    if clash:  # one name, two schemas: the document would describe one of them wrongly
        raise RuntimeError(f"a request and an answer type share a name: {sorted(clash)}")
    components = {**_scalars(), **answers, **input_defs}
    taken: dict[Any, set[str]] = {}  # a command's fields from paths and headers, of all uses
    for op in operations:
        taken.setdefault(op.input, set()).update(op.path_fields, op.headers.values())
    paths: dict[str, dict[str, Schema]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(
            op, inputs, components, input_defs, taken[op.input])
    return {
        "openapi": "3.1.0",
        "info": {"title": "Xiaobao back office API", "version": "1",
                 "description": "Policies, endorsements, group schemes, parties, outlets, the "
                 "audit log, claims, complaints, home visits, satisfaction, conversations "
                 "handed to agents and channel bindings. Money is a decimal string, dates are "
                 "YYYY-MM-DD. Who acts is the token's staff member (or the integration the "
                 "service token stands for): `actor` or `role` in a body decides nothing."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": t} for t in dict.fromkeys(op.tag for op in operations)],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "The service token (XIAOBAO_API_TOKEN): every right. Or a "
                               "staff member's token from POST /auth/token: what their "
                               "role allows, personal data masked unless the role needs "
                               "it, and writes made as that staff member."}},
            "responses": {f"E{code}": {"description": text, "content": {
                "application/json": {"schema": ref(Error.__name__)}}}
                for code, text in ERRORS.items()},
            "schemas": components,
        },
    }
