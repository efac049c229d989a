"""Every input from the network is hostile: one rule per kind of value, applied to every
operation of the API after its schema validated the request, and before any service or
database sees it — instead of a check per endpoint.

* text: no NUL character (PostgreSQL cannot store one; nothing legitimate sends it);
* integers: within a signed 64-bit column (a huge `offset` or quantity);
* decimals and floats: finite, and no larger than any amount this platform handles;
* date-times: a UTC offset within ±15:59, the range every database stores;
* the body: at most `DATA_UPLOAD_MAX_MEMORY_SIZE` (413 beyond, from `base.py`).

A refusal is the one error shape, 400 `validation_error`, naming the field.
"""

import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import wraps
from typing import Any

from django.utils.translation import gettext as _
from pydantic import BaseModel

from chappe.common.errors import ValidationFailed

INT64 = 2**63 - 1
# No price, credit or quantity reaches this (and its micro-units fit in 64 bits).
LARGEST_AMOUNT = Decimal(10) ** 12
LARGEST_OFFSET = timedelta(hours=15, minutes=59)


def _problem(value: Any) -> str | None:
    """What is wrong with one value, or None."""
    if isinstance(value, str):
        return _("Text may not contain the NUL character.") if "\x00" in value else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _("This number is too large.") if not -INT64 <= value <= INT64 else None
    if isinstance(value, float | Decimal):
        if not (math.isfinite(value) if isinstance(value, float) else value.is_finite()):
            return _("This number is not finite.")
        return _("This number is too large.") if abs(Decimal(value)) >= LARGEST_AMOUNT else None
    if isinstance(value, datetime | time):
        offset = value.utcoffset()
        if offset is not None and abs(offset) > LARGEST_OFFSET:
            return _("A UTC offset must lie within -15:59 and +15:59.")
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every leaf value with its dotted path (models, mappings, sequences)."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(key, path)
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}.{index}" if path else str(index))
    else:
        yield path, value


def hostile_values(arguments: Mapping[str, Any]) -> dict[str, list[str]]:
    """The problems of an operation's validated arguments, by field path."""
    problems: dict[str, list[str]] = {}
    for name, argument in arguments.items():
        # A schema argument (a body, a set of query filters, the pagination) names its
        # fields as the client sent them: "offset", not "ninja_pagination.offset".
        prefix = "" if isinstance(argument, BaseModel) else str(name)
        for path, value in _walk(argument, prefix):
            if (problem := _problem(value)) is not None:
                problems.setdefault(path or "request", []).append(problem)
    return problems


def refuse_hostile_values(operation: Callable[..., Any]) -> Callable[..., Any]:
    """The API-wide decorator (`api.add_decorator`): refuse before the operation runs."""

    @wraps(operation)
    def checked(request: Any, *args: Any, **kwargs: Any) -> Any:
        problems = hostile_values({**kwargs, **dict(enumerate(args))})
        if problems:
            raise ValidationFailed(details=problems)
        return operation(request, *args, **kwargs)

    return checked
