"""The OULAD importer: the Open University dataset as LMS events of platform ``ou`` (SPEC.md §7).

Library entry points (the CLI ``certstats import-oulad`` and the demo use them)::

    events = list(oulad_events(Path("data/oulad"), shift_years=11))  # validated, time order
    count = await publish_events(events, "127.0.0.1:9092", topic="lms.events")
"""

from certstats_importer.csv_source import OuladInputError
from certstats_importer.publish import publish_events, write_json_lines
from certstats_importer.stream import DEFAULT_SHIFT_YEARS, oulad_events

__all__ = [
    "DEFAULT_SHIFT_YEARS",
    "OuladInputError",
    "oulad_events",
    "publish_events",
    "write_json_lines",
]
