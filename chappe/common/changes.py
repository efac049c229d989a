"""Changing some fields of one row inside a service: the fields a caller may change are
named by the service, the values are checked by the model's own validation, and only
what differs is written — so the service audits exactly what changed."""

from collections.abc import Collection, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext as _

from chappe.common.errors import ValidationFailed


def changes_apply(obj: models.Model, changes: Mapping[str, Any], *,
                  editable: Collection[str]) -> list[str]:
    """Set `changes` on `obj` (read, ideally locked, by the calling service), validate the
    changed fields (`full_clean`) and save them; returns their names, sorted. A field not
    in `editable` or a value the model refuses is `ValidationFailed`; nothing is written."""
    refused = sorted(set(changes) - set(editable))
    if refused:
        raise ValidationFailed(details={name: [_("This field cannot be changed here.")]
                                        for name in refused})
    changed = sorted(name for name, value in changes.items() if getattr(obj, name) != value)
    if not changed:
        return []
    for name in changed:
        setattr(obj, name, changes[name])
    others = [f.name for f in obj._meta.concrete_fields if f.name not in changed]
    try:
        obj.full_clean(exclude=others)
    except DjangoValidationError as exc:
        raise ValidationFailed(details=exc.message_dict) from None
    obj.save(update_fields=changed)
    return changed
