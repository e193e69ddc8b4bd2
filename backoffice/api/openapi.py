"""The OpenAPI 3.1 document of /api/v1."""

from __future__ import annotations

from typing import Any


def openapi_document() -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "Xiaobao back office API", "version": "1"},
            "paths": {}}
