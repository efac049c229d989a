"""Message templates with placeholders (pure).

`{first_name}`, `{last_name}`, `{company}` (any built-in text field of a contact) or a
custom field's key, each with an optional default used when the value is empty:
`{first_name|Client}`. `{{` and `}}` write literal braces. An unknown placeholder is a
validation error that names it, before anything is sent.

A template is parsed once and rendered per recipient by joining its parts, so rendering a
million recipients costs about a second, not a regular expression per recipient.
"""

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
MAX_DEFAULT = 100


class TemplateError(ValueError):
    """Why a template cannot be used: `code` and a message for the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Placeholder:
    key: str
    # Used when the recipient's value is empty (or the recipient is not a contact).
    default: str = ""


@dataclass(frozen=True)
class Template:
    parts: tuple[str | Placeholder, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The distinct placeholder keys, in order of first use."""
        return tuple(dict.fromkeys(p.key for p in self.parts if isinstance(p, Placeholder)))

    def render(self, values: Mapping[str, str]) -> str:
        """The text for one recipient; `values` are the recipient's values as text."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = values.get(part.key, "")
                out.append(value if value and not value.isspace() else part.default)
        return "".join(out)


def parse_template(text: str, *, known: Collection[str]) -> Template:
    """Parse `text`; `known` are the placeholder keys the account can use."""
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position:match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        if token == "{":
            raise TemplateError("unclosed_brace", _("A “{” is not closed. To write a brace, "
                                                    "type {{."))
        if token == "}":
            raise TemplateError("stray_brace", _("A “}” closes nothing. To write a brace, "
                                                 "type }}."))
        key, _bar, default = match.group(1).partition("|")
        key = key.strip()
        if not _KEY.fullmatch(key):
            raise TemplateError("bad_placeholder", _(
                "“%(token)s” is not a placeholder: write {field} or {field|default}.")
                % {"token": token})
        if key not in known:
            raise TemplateError("unknown_placeholder", _(
                "Unknown placeholder {%(key)s}. Available: %(known)s.")
                % {"key": key, "known": ", ".join(f"{{{k}}}" for k in known)})
        if len(default) > MAX_DEFAULT:
            raise TemplateError("default_too_long", _(
                "The default of {%(key)s} is longer than %(n)d characters.")
                % {"key": key, "n": MAX_DEFAULT})
        parts.append("".join(literal))
        literal = []
        parts.append(Placeholder(key=key, default=default))
    literal.append(text[position:])
    parts.append("".join(literal))
    return Template(tuple(part for part in parts if part != ""))
