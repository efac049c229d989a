"""Connector types by slug, like RapidPro's channel types.

`settings.CHAPPE_CONNECTOR_TYPES` maps a slug ("simulator", "smpp", …) to the class of
that type; a `Connector` row stores the slug. Each type declares its settings as a
pydantic model (`ConnectorType.Config`): a config is validated against it before it is
stored and again when a connector is built, and an instance is built from the row's name
and the validated config. Unknown slugs and invalid settings are refused in the services'
one error vocabulary (`ValidationFailed`, one entry per field: `type`, `config.<field>`),
with messages the operator reads in their language.
"""

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from pydantic import BaseModel
from pydantic import ValidationError as SchemaError

from chappe.carriers.base import ConnectorType
from chappe.common.errors import ValidationFailed


def connector_types() -> dict[str, type[ConnectorType]]:
    """Every registered type, by slug."""
    return {slug: import_string(path)
            for slug, path in settings.CHAPPE_CONNECTOR_TYPES.items()}


def connector_type(slug: str) -> type[ConnectorType]:
    """The class registered as `slug`; an unknown slug is refused."""
    path = settings.CHAPPE_CONNECTOR_TYPES.get(slug)
    if path is None:
        raise ValidationFailed(details={"type": [
            _("Unknown connector type “%(type)s”; known types: %(known)s.")
            % {"type": slug, "known": ", ".join(sorted(settings.CHAPPE_CONNECTOR_TYPES))}]})
    return import_string(path)


def config_validate(*, type: str, config: Any) -> BaseModel:
    """`config` checked against the schema of connector type `type`."""
    schema = connector_type(type).Config
    try:
        return schema.model_validate(config)
    except SchemaError as exc:
        details: dict[str, list[str]] = {}
        for error in exc.errors():
            field = ".".join(["config", *(str(part) for part in error["loc"])])
            details.setdefault(field, []).append(_message(error))
        raise ValidationFailed(details=details) from exc


def config_stored(config: BaseModel) -> dict[str, Any]:
    """What `Connector.config` keeps of a validated config: the settings given (values
    normalised), so a default changed in a later version applies to the others."""
    return config.model_dump(mode="json", exclude_unset=True)


def connector_build(*, name: str, type: str, config: Any) -> ConnectorType:
    """An instance of connector type `type`, named `name`, from a config validated here."""
    return connector_type(type)(name=name, config=config_validate(type=type, config=config))


def _message(error: Any) -> str:
    """A pydantic error, said in our words (and language) where we know its kind."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":  # raised by a schema's own check, already in our words
        return str(ctx.get("error", error["msg"]))
    if kind == "missing":
        return _("This setting is required.")
    if kind == "extra_forbidden":
        return _("Unknown setting.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("float_parsing", "float_type"):
        return _("Enter a number.")
    if kind in ("bool_parsing", "bool_type"):
        return _("Enter true or false.")
    if kind == "string_type":
        return _("Enter a text.")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Enter a JSON object.")
    if kind == "greater_than_equal":
        return _("Must be at least %(limit)s.") % {"limit": ctx["ge"]}
    if kind == "greater_than":
        return _("Must be more than %(limit)s.") % {"limit": ctx["gt"]}
    if kind == "less_than_equal":
        return _("Must be at most %(limit)s.") % {"limit": ctx["le"]}
    if kind == "string_too_short":
        return _("Must not be empty.") if ctx["min_length"] == 1 else (
            _("At least %(limit)s characters.") % {"limit": ctx["min_length"]})
    if kind == "string_too_long":
        return _("At most %(limit)s characters.") % {"limit": ctx["max_length"]}
    if kind == "literal_error":
        return _("Choose one of: %(choices)s.") % {"choices": ctx["expected"]}
    return error["msg"]
