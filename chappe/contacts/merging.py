"""How duplicate contacts become one (pure).

The contact kept is the most complete one (the most fields filled in; the oldest on a
tie, as other records may point to it). Each of its empty fields takes the value of the
most recently updated duplicate that has one; custom values the same way, field by field.
List memberships are the union of all (done by the service). Nothing a duplicate knows is
lost unless the kept contact already had a value for that field.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chappe.contacts.fields import TEXT_FIELDS


@dataclass(frozen=True)
class Record:
    """What merging needs of one contact."""

    id: Any
    values: Mapping[str, str]  # the built-in text fields (not the mobile)
    custom: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def filled(self) -> int:
        return (sum(1 for name in TEXT_FIELDS if self.values.get(name))
                + sum(1 for value in self.custom.values() if value not in (None, "")))


@dataclass(frozen=True)
class MergePlan:
    keep: Any
    drop: list[Any]
    values: dict[str, str]  # the kept contact's built-in fields after merging
    custom: dict[str, Any]


def plan_merge(records: Sequence[Record]) -> MergePlan:
    if not records:
        raise ValueError("nothing to merge")
    keep = min(records, key=lambda r: (-r.filled, r.created_at, str(r.id)))
    others = sorted((r for r in records if r is not keep), key=lambda r: r.updated_at,
                    reverse=True)
    values = {name: keep.values.get(name, "") for name in TEXT_FIELDS}
    custom = {k: v for k, v in keep.custom.items() if v not in (None, "")}
    for other in others:
        for name in TEXT_FIELDS:
            if not values[name] and other.values.get(name):
                values[name] = other.values[name]
        for key, value in other.custom.items():
            if key not in custom and value not in (None, ""):
                custom[key] = value
    return MergePlan(keep=keep.id, drop=[r.id for r in others], values=values, custom=custom)


def fill_from(current: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """An import row merged into a contact: the row's non-empty values win."""
    result = dict(current)
    for key, value in incoming.items():
        if value not in (None, ""):
            result[key] = value
    return result
