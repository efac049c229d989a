"""The one tenant-scoped lookup: an id that is malformed or not in the queryset (another
account's, or none at all) is the same `NotFound`, so ids of other tenants leak nothing."""

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet

from chappe.common.errors import NotFound


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
