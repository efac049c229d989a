"""The one tenant-scoped lookup: an id that is malformed or not in the queryset (another
account's, or none at all) is the same `NotFound`, so ids of other tenants leak nothing."""

import uuid
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL

from chappe.common.errors import NotFound

_SQLITE_CHUNK = 900  # under SQLite's bound-parameter limit


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def get_or_404[M: Model](queryset: QuerySet[M], object_id: Any) -> M:
    try:
        return queryset.get(pk=object_id)
    except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise NotFound() from exc


def filtered[M: Model](queryset: QuerySet[M], **criteria: Any) -> QuerySet[M]:
    """`queryset.filter(**criteria)` leaving out the criteria not given (None or "") —
    the optional filters of list endpoints."""
    return queryset.filter(**{key: value for key, value in criteria.items()
                              if value is not None and value != ""})


def values_among[M: Model](queryset: QuerySet[M], field: str, values: Sequence[Any],
                           column: str) -> list[Any]:
    """`queryset.filter(<field>__in=values).values_list(column)` for long lists: one query
    with an array parameter on PostgreSQL (a 20,000-item `IN` costs more to build and
    plan than to run), chunks under the bound-parameter limit on SQLite."""
    if not values:
        return []
    if connection.vendor == "postgresql":
        array = RawSQL("SELECT unnest(%s::text[])", [list(values)])
        return list(queryset.filter(**{f"{field}__in": array}).values_list(column, flat=True))
    found: list[Any] = []
    for start in range(0, len(values), _SQLITE_CHUNK):
        found += queryset.filter(**{f"{field}__in": values[start:start + _SQLITE_CHUNK]}
                                 ).values_list(column, flat=True)
    return found
