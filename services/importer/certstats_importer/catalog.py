"""Fixed OULAD catalogue: modules, their certificates' validity, the group tree (SPEC.md §7).

Root ``Open University`` -> the four nations; the ten English regions under ``England``.
"""

from __future__ import annotations

from dataclasses import dataclass

from certstats_importer import ids

VALIDITY_MONTHS: dict[str, int | None] = {
    "AAA": 12,
    "BBB": 24,
    "CCC": None,
    "DDD": 12,
    "EEE": 36,
    "FFF": 12,
    "GGG": 6,
}
"""Module code -> validity of its certificate in months (None = never expires)."""

ROOT_GROUP = "Open University"
NATIONS = ("England", "Scotland", "Wales", "Ireland")
ENGLISH_REGIONS = (
    "East Anglian Region",
    "East Midlands Region",
    "London Region",
    "North Region",
    "North Western Region",
    "South East Region",
    "South Region",
    "South West Region",
    "West Midlands Region",
    "Yorkshire Region",
)

REGION_GROUPS: dict[str, str] = {
    **{region: region for region in ENGLISH_REGIONS},
    **{nation: nation for nation in NATIONS if nation != "England"},
}
"""studentInfo ``region`` -> name of the group its students belong to."""

COACHED_GROUPS = tuple(REGION_GROUPS.values())
"""Groups that get a coach: every group students belong to."""


@dataclass(frozen=True, slots=True)
class GroupNode:
    """A group of the tree: its name and its parent's name (None for the root)."""

    name: str
    parent: str | None

    @property
    def group_id(self) -> str:
        """``ou-g-root`` for the root, else ``ou-g-<slug of name>``."""
        return group_id_of(self.name)


def group_id_of(name: str) -> str:
    """Group id of a group of the tree, by name."""
    return ids.ROOT_GROUP_ID if name == ROOT_GROUP else ids.group_id(name)


GROUP_TREE: tuple[GroupNode, ...] = (
    GroupNode(ROOT_GROUP, None),
    *(GroupNode(nation, ROOT_GROUP) for nation in NATIONS),
    *(GroupNode(region, "England") for region in ENGLISH_REGIONS),
)
"""Every group, parents before children."""
