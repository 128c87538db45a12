"""An event before it becomes a CloudEvents document (SPEC.md section 3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certstats_contracts.envelope import make_cloud_event
from certstats_contracts.events import EventData
from certstats_importer.ids import PLATFORM_ID, SOURCE, event_id
from certstats_importer.timeline import rfc3339


@dataclass(frozen=True, slots=True)
class Fact:
    """One event of the ``ou`` stream.

    ``entity_ids`` name what the event is about; with the type they make its UUIDv5 id.
    """

    time: datetime
    event_type: str
    data: EventData
    entity_ids: tuple[str, ...]

    def document(self) -> dict[str, Any]:
        """The structured-mode CloudEvents JSON document (JSON-ready dict) of this fact."""
        return make_cloud_event(
            event_id=event_id(self.event_type, *self.entity_ids),
            event_type=self.event_type,
            time=rfc3339(self.time),
            platform_id=PLATFORM_ID,
            source=SOURCE,
            data=self.data,
        )
