"""The call-flow editor (C-3): a flow definition — the validated JSON of
chappe/callcenter/flows.py — shown as a form, one fieldset per step, and read back.

Why a module of its own: the form is not a fixed Django form. Steps are added, removed
and renamed, so the fields are named per step (`n3-name`, `n3-prompt-text`, …), with a
hidden list of the steps' keys in order. This module turns a definition into that form
(`FlowForm.from_definition`) and a posted form back into a definition
(`FlowForm.from_post` then `.definition()`). It checks nothing itself: the service's
validator (`flow_validate`) does, and `apply_errors` puts its errors, keyed by JSON path
(`nodes.menu.menu.timeout_seconds`), back next to the step and field they are about.
Renaming a step renames every reference to it, so targets never dangle because of a
rename.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chappe.voice.flows import DAYS

NODE_TYPES = [
    ("play", gettext_lazy("Message")),
    ("menu", gettext_lazy("Menu (press a key)")),
    ("hours", gettext_lazy("Opening hours")),
    ("voicemail", gettext_lazy("Voicemail")),
    ("transfer", gettext_lazy("Transfer to a number")),
    ("queue", gettext_lazy("Queue (agents answer)")),
    ("hangup", gettext_lazy("Hang up")),
]
DAY_LABELS = dict(zip(DAYS, [gettext_lazy("Monday"), gettext_lazy("Tuesday"),
                             gettext_lazy("Wednesday"), gettext_lazy("Thursday"),
                             gettext_lazy("Friday"), gettext_lazy("Saturday"),
                             gettext_lazy("Sunday")], strict=True))
# Menu keys (all of flows.DIGITS, in keypad order), and how field names spell them.
KEYS = [(digit, {"*": "star", "#": "hash"}.get(digit, digit)) for digit in "123456789*0#"]
# The prompts of each step type; the first one of play and menu is required.
PROMPTS = {"play": ["prompt"], "menu": ["prompt", "invalid_prompt", "timeout_prompt"],
           "voicemail": ["greeting"], "hangup": ["prompt"]}
REQUIRED_PROMPTS = {("play", "prompt"), ("menu", "prompt")}
PROMPT_LABELS = {"prompt": gettext_lazy("Message played"),
                 "greeting": gettext_lazy("Greeting"),
                 "invalid_prompt": gettext_lazy("After a wrong key"),
                 "timeout_prompt": gettext_lazy("When no key is pressed")}
# Scalar fields per type (prompts, menu keys and the weekly hours are apart).
FIELDS = {"play": ["next"], "menu": ["timeout_seconds", "max_retries", "on_failure"],
          "hours": ["timezone", "holidays", "open", "closed"],
          "voicemail": ["beep", "max_seconds", "next"],
          "transfer": ["number", "timeout_seconds", "on_failure"],
          "queue": ["queue_id", "next"], "hangup": []}
TARGETS = {"next", "on_failure", "open", "closed"}
# What a new step starts with (the validator's defaults).
DEFAULTS = {"menu": {"timeout_seconds": "5", "max_retries": "2"},
            "voicemail": {"beep": True, "max_seconds": "120"},
            "hours": {"timezone": "Europe/Paris"}, "transfer": {"timeout_seconds": "30"}}


@dataclass
class Prompt:
    source: str = ""  # "tts", "audio", or "" (none)
    text: str = ""
    language: str = "fr"
    voice: str = ""
    audio_id: str = ""

    @classmethod
    def of(cls, data: Any) -> "Prompt":
        if not isinstance(data, dict):
            return cls()
        if data.get("audio_id"):
            return cls(source="audio", audio_id=str(data["audio_id"]))
        return cls(source="tts", text=str(data.get("text") or ""),
                   language=str(data.get("language") or "fr"),
                   voice=str(data.get("voice") or ""))

    def data(self) -> dict[str, Any] | None:
        if self.source == "audio":
            return {"audio_id": self.audio_id}
        if self.source == "tts":
            return {"text": self.text, "language": self.language,
                    **({"voice": self.voice} if self.voice else {})}
        return None


@dataclass
class Step:
    key: str  # stable within one editing session: "n0", "n1"…
    name: str
    type: str
    values: dict[str, Any] = field(default_factory=dict)
    prompts: dict[str, Prompt] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)  # key slug → target step
    weekly: dict[str, str] = field(default_factory=dict)  # day → "09:00-12:00, 14:00-18:00"
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def type_label(self) -> str:
        return str(dict(NODE_TYPES).get(self.type, self.type))

    def prompt_slots(self) -> list[tuple[str, str, bool, Prompt, list[str]]]:
        """(slot, label, required, prompt, errors) for the template."""
        return [(slot, str(PROMPT_LABELS[slot]), (self.type, slot) in REQUIRED_PROMPTS,
                 self.prompts.get(slot) or Prompt(), self.errors.get(slot, []))
                for slot in PROMPTS.get(self.type, [])]

    def menu_keys(self) -> list[tuple[str, str, str]]:
        """(key, slug, target) of the twelve keys of a menu."""
        return [(digit, slug, self.options.get(slug, "")) for digit, slug in KEYS]

    def days(self) -> list[tuple[str, str, str]]:
        return [(day, str(DAY_LABELS[day]), self.weekly.get(day, "")) for day in DAYS]

    def data(self) -> dict[str, Any]:
        """This step as flows.py JSON (no check: the validator does that)."""
        node: dict[str, Any] = {"type": self.type}
        for slot in PROMPTS.get(self.type, []):
            prompt = self.prompts.get(slot) or Prompt()
            required = (self.type, slot) in REQUIRED_PROMPTS
            if prompt.text if prompt.source == "tts" else prompt.audio_id:
                node[slot] = prompt.data()
            elif required:
                node[slot] = {}  # the validator says what is missing
        for name in FIELDS.get(self.type, []):
            value = self.values.get(name)
            if name == "beep":
                node[name] = bool(value)
            elif name == "holidays":
                node[name] = [d for d in re.split(r"[\s,;]+", value or "") if d]
            elif value not in (None, ""):
                node[name] = value
        if self.type == "menu":
            node["options"] = {digit: self.options[slug] for digit, slug in KEYS
                               if self.options.get(slug)}
        if self.type == "hours":
            node["weekly"] = {day: [_range(part) for part in re.split(r"[,;]", text)
                                    if part.strip()]
                              for day, text in self.weekly.items() if text.strip()}
        return node


def _range(text: str) -> list[str]:
    start, _dash, end = text.strip().partition("-")
    return [start.strip(), end.strip()]


@dataclass
class FlowForm:
    name: str = ""
    start: str = ""
    steps: list[Step] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)  # name, start, json, flow

    # --- from and to the stored JSON --------------------------------------------------

    @classmethod
    def from_definition(cls, *, name: str, definition: Any) -> "FlowForm":
        definition = definition if isinstance(definition, dict) else {}
        nodes = definition.get("nodes") if isinstance(definition.get("nodes"), dict) else {}
        steps = []
        for index, (node_name, node) in enumerate(nodes.items()):
            node = node if isinstance(node, dict) else {}
            kind = str(node.get("type") or "play")
            step = Step(key=f"n{index}", name=str(node_name), type=kind)
            for slot in PROMPTS.get(kind, []):
                if node.get(slot) is not None:
                    step.prompts[slot] = Prompt.of(node[slot])
            for key in FIELDS.get(kind, []):
                value = node.get(key, DEFAULTS.get(kind, {}).get(key, ""))
                step.values[key] = (", ".join(map(str, value)) if key == "holidays"
                                    and isinstance(value, list) else value)
            options = node.get("options") if isinstance(node.get("options"), dict) else {}
            step.options = {slug: str(options[digit]) for digit, slug in KEYS
                            if options.get(digit)}
            weekly = node.get("weekly") if isinstance(node.get("weekly"), dict) else {}
            step.weekly = {day: ", ".join("-".join(map(str, r)) for r in ranges
                                          if isinstance(r, list | tuple))
                           for day, ranges in weekly.items() if isinstance(ranges, list)}
            steps.append(step)
        return cls(name=name, start=str(definition.get("start") or ""), steps=steps)

    def definition(self) -> dict[str, Any]:
        nodes: dict[str, Any] = {}
        for step in self.steps:
            if step.name in nodes:
                step.errors.setdefault("name", []).append(
                    _("Another step already has this name."))
            nodes[step.name] = step.data()
        return {"start": self.start, "nodes": nodes}

    def json_text(self) -> str:
        return json.dumps(self.definition(), indent=2, ensure_ascii=False)

    # --- from and to the posted form ----------------------------------------------------

    @classmethod
    def from_post(cls, post: QueryDict) -> "FlowForm":
        form = cls(name=post.get("name", "").strip(), start=post.get("start", ""))
        renamed: dict[str, str] = {}
        for key in post.getlist("steps"):
            if not re.fullmatch(r"n\d{1,4}", key):
                continue
            kind = post.get(f"{key}-type", "play")
            if kind not in dict(NODE_TYPES):
                continue
            step = Step(key=key, name=post.get(f"{key}-name", "").strip(), type=kind)
            was = post.get(f"{key}-was", "")
            if was and was != step.name:
                renamed[was] = step.name
            for name in FIELDS[kind]:
                step.values[name] = (post.get(f"{key}-{name}") == "on" if name == "beep"
                                     else post.get(f"{key}-{name}", "").strip())
            for slot in PROMPTS.get(kind, []):
                step.prompts[slot] = Prompt(
                    source=post.get(f"{key}-{slot}-source", ""),
                    text=post.get(f"{key}-{slot}-text", "").strip(),
                    language=post.get(f"{key}-{slot}-language", "fr"),
                    voice=post.get(f"{key}-{slot}-voice", ""),
                    audio_id=post.get(f"{key}-{slot}-audio", ""))
            if kind == "menu":
                step.options = {slug: post.get(f"{key}-opt-{slug}", "") for _d, slug in KEYS
                                if post.get(f"{key}-opt-{slug}")}
            if kind == "hours":
                step.weekly = {day: post.get(f"{key}-day-{day}", "").strip() for day in DAYS}
            form.steps.append(step)
        form._follow_renames(renamed)
        return form

    def _follow_renames(self, renamed: dict[str, str]) -> None:
        """A step renamed in the form: every step pointing at its old name follows."""
        if not renamed:
            return
        self.start = renamed.get(self.start, self.start)
        for step in self.steps:
            for name in TARGETS & step.values.keys():
                step.values[name] = renamed.get(step.values[name], step.values[name])
            step.options = {slug: renamed.get(t, t) for slug, t in step.options.items()}

    def names(self) -> list[str]:
        return [step.name for step in self.steps if step.name]

    def add(self, kind: str) -> Step | None:
        if kind not in dict(NODE_TYPES):
            return None
        used = {int(s.key[1:]) for s in self.steps}
        key = f"n{max(used, default=-1) + 1}"
        taken = set(self.names())
        name = next(f"{kind}{i if i > 1 else ''}" for i in range(1, 1000)
                    if f"{kind}{i if i > 1 else ''}" not in taken)
        step = Step(key=key, name=name, type=kind,
                    values={k: DEFAULTS.get(kind, {}).get(k, "") for k in FIELDS[kind]},
                    prompts={slot: Prompt(source="tts") for slot in PROMPTS.get(kind, [])
                             if (kind, slot) in REQUIRED_PROMPTS or slot == "greeting"})
        self.steps.append(step)
        if not self.start:
            self.start = name
        return step

    def remove(self, key: str) -> None:
        self.steps = [step for step in self.steps if step.key != key]

    # --- the validator's errors, next to what they are about -----------------------------

    def apply_errors(self, details: dict[str, Any]) -> None:
        by_name = {step.name: step for step in self.steps}
        for path, messages in details.items():
            texts = [_clean(m) for m in (messages if isinstance(messages, list)
                                         else [messages])]
            step, rest = _step_of(path, by_name)
            if step is None:
                where = path if path in ("name", "start") else "flow"
                self.errors.setdefault(where, []).extend(texts)
                continue
            rest = rest.removeprefix(f"{step.type}.")
            where = rest.split(".", 1)[0] if rest else "step"
            where = {"[key]": "name"}.get(where, where)
            step.errors.setdefault(where, []).extend(texts)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(step.errors for step in self.steps)


def _step_of(path: str, by_name: dict[str, Step]) -> tuple[Step | None, str]:
    """The step a JSON path is about (the longest name that fits: names may hold dots
    when they are wrong), and the rest of the path."""
    if not path.startswith("nodes."):
        return None, path
    rest = path.removeprefix("nodes.")
    for name in sorted(by_name, key=len, reverse=True):
        if rest == name or rest.startswith(f"{name}."):
            return by_name[name], rest[len(name) + 1:]
    return None, path


# The validator speaks English to API clients; the editor says the usual ones in the
# reader's language (matched by their start).
FRIENDLY = {
    "a prompt has exactly one of text or audio_id":
        gettext_lazy("Write the text to read, or choose a recording."),
    "Field required": gettext_lazy("This field is required."),
    "String should have at least 1 character": gettext_lazy("This field is required."),
    "Input should be a valid integer": gettext_lazy("Enter a whole number."),
    "Input should be greater than or equal to": gettext_lazy("This number is too small."),
    "Input should be less than or equal to": gettext_lazy("This number is too large."),
    "no node named": gettext_lazy("Choose an existing step."),
    "an E.164 number": gettext_lazy("Enter the number in international form, e.g. "
                                    "+33612345678."),
    "unknown time zone": gettext_lazy("Unknown time zone."),
    "String should match pattern": gettext_lazy(
        "Use letters, digits, - and _ only (at most 64)."),
    "Input should be a valid date": gettext_lazy("Dates are written YYYY-MM-DD."),
    "opening-hours branches loop": gettext_lazy(
        "Opening-hours steps lead to each other in a loop."),
}


def _clean(message: Any) -> str:
    text = str(message).removeprefix("Value error, ")
    for start, friendly in FRIENDLY.items():
        if text.startswith(start):
            return str(friendly)
    return text
