"""Published contract documents: one JSON Schema per event type and an AsyncAPI 3.0 document.

Both are generated from the pydantic models and committed under ``contracts/``; a test fails when
the committed files drift from the models. Regenerate with
``python -m certstats_contracts.documents``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, Field, create_model

from certstats_contracts.envelope import DEFAULT_TOPIC, CloudEvent
from certstats_contracts.events import EVENT_DATA_MODELS

CONTRACTS_DIR = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
ASYNCAPI_FILE = CONTRACTS_DIR / "asyncapi.json"


def _model_name(event_type: str) -> str:
    words = event_type.replace(".", "_").split("_")
    return "".join(w.capitalize() for w in words) + "Event"


def typed_envelopes() -> dict[str, type[BaseModel]]:
    """Event type -> a CloudEvent model whose ``type`` and ``data`` are fixed to that type."""
    models: dict[str, type[BaseModel]] = {}
    for event_type, data_model in EVENT_DATA_MODELS.items():
        models[event_type] = create_model(
            _model_name(event_type),
            __base__=CloudEvent,
            __doc__=f"CloudEvents 1.0 envelope of `{event_type}`. {data_model.__doc__ or ''}",
            type=(Literal[event_type], Field(description="The event type.")),
            data=(data_model, Field(description="The payload.")),
        )
    return models


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema (draft 2020-12) of each typed envelope."""
    return {
        f"{event_type}.json": model.model_json_schema()
        for event_type, model in typed_envelopes().items()
    }


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the topic the projector consumes, built by FastStream."""
    broker = KafkaBroker("localhost:9092")
    for event_type, model in typed_envelopes().items():
        broker.publisher(
            DEFAULT_TOPIC,
            title=f"{DEFAULT_TOPIC}:{event_type}",
            description=(model.__doc__ or "").strip(),
            schema=model,
        )
    spec = AsyncAPI(
        broker,
        title="certstats event contract",
        version="1.0.0",
        description="LMS domain events (CloudEvents 1.0, structured JSON) consumed by the "
        "certstats projector. Key: `<platformid>:<entity id>`. Malformed events go to "
        "`<topic>.dlq`.",
        schema_version="3.0.0",
    )
    document: dict[str, Any] = json.loads(spec.to_specification().to_json())
    return document


def render(document: dict[str, Any]) -> str:
    """Stable JSON text for a committed document."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    """Every committed contract file and the text it must hold."""
    files = {SCHEMAS_DIR / name: render(schema) for name, schema in json_schemas().items()}
    files[ASYNCAPI_FILE] = render(asyncapi_document())
    return files


def main() -> None:
    """Write the contract documents (run after changing a model)."""
    SCHEMAS_DIR.mkdir(exist_ok=True)
    for path, text in expected_files().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(CONTRACTS_DIR.parent)}")


if __name__ == "__main__":
    main()
