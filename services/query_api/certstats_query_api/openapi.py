"""The OpenAPI document of the query API, committed as ``services/query_api/openapi.json``.

Regenerate with ``python -m certstats_query_api.openapi``; a test fails when it drifts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI

OPENAPI_FILE = Path(__file__).resolve().parents[1] / "openapi.json"

_CUSTOM_FIELD = {
    "name": "custom_field",
    "in": "query",
    "required": False,
    "style": "deepObject",
    "explode": True,
    "description": "custom_field[<name>]=<value>, repeatable: values of one name OR together, "
    "names AND (SPEC.md section 5).",
    "schema": {"type": "object", "additionalProperties": {"type": "string"}},
}


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the ``custom_field[<name>]`` parameter to every statistics
    operation (FastAPI cannot declare query names with brackets)."""
    plain = app.openapi

    def with_custom_field() -> dict[str, Any]:
        schema = plain()
        for url, operations in schema["paths"].items():
            for operation in operations.values() if url.startswith("/v1/") else ():
                parameters = operation.setdefault("parameters", [])
                if _CUSTOM_FIELD not in parameters:
                    parameters.append(_CUSTOM_FIELD)
        return schema

    app.openapi = with_custom_field  # type: ignore[method-assign]


def render(app: FastAPI) -> str:
    """The committed text of the document: indented JSON, stable key order, final newline."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write :data:`OPENAPI_FILE` from a default app (no database is contacted)."""
    from certstats_query_api.app import create_app
    from certstats_query_api.settings import ApiSettings

    settings = ApiSettings(database_url="postgresql://localhost/unused", jwt_secret="x" * 32)
    OPENAPI_FILE.write_text(render(create_app(settings)))


if __name__ == "__main__":
    main()
