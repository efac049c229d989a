"""Forms of the agents and queues pages: shape only; the rules stay in chappe.agents'
services (see chappe/web/forms.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from chappe.agents.models import STRATEGY_LABELS, NoAgentBehaviour
from chappe.agents.services.licences import MAX_LICENCES
from chappe.voice.flows import DAYS


class HoursField(forms.CharField):
    """Opening hours as a few lines of text — `mon-fri 09:00-12:00 14:00-18:00`,
    `sat 10:00-13:00`, `closed 2026-12-25`, `timezone Europe/Paris` — to and from the
    `hours` the queue services take (their validation says what is wrong). Empty: always
    open."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        if not isinstance(value, dict):
            return value
        lines = [f"{day} {' '.join(f'{a}-{b}' for a, b in ranges)}"
                 for day, ranges in value.get("weekly", {}).items() if ranges]
        lines += [f"closed {day}" for day in value.get("holidays", [])]
        return "\n".join([f"timezone {value.get('timezone', 'Europe/Paris')}", *lines])

    def to_python(self, value):
        text = (value or "").strip()
        if not text:
            return None
        hours: dict = {"weekly": {}, "holidays": []}
        for line in text.splitlines():
            word, _space, rest = line.strip().partition(" ")
            if not word:
                continue
            if word == "timezone":
                hours["timezone"] = rest.strip()
            elif word == "closed":
                hours["holidays"].append(rest.strip())
            else:
                first, _dash, last = word.partition("-")
                if first not in DAYS or (last and last not in DAYS):
                    raise forms.ValidationError(
                        _("“%(word)s” is not a day (mon … sun) nor a range of days.")
                        % {"word": word})
                days = DAYS[DAYS.index(first):DAYS.index(last or first) + 1]
                ranges = [tuple(r.split("-", 1)) for r in rest.split()]
                for day in days:
                    hours["weekly"][day] = ranges
        return hours


class AgentForm(forms.Form):
    user = forms.ChoiceField(label=_("User"), help_text=_("Any user of the account who "
                                                          "takes calls."))
    extension = forms.RegexField(label=_("Extension"), regex=r"^\d{1,8}$", max_length=8)
    wrap_up_seconds = forms.IntegerField(label=_("Wrap-up time (s)"), min_value=0,
                                         max_value=3600, initial=10)
    max_no_answer = forms.IntegerField(
        label=_("Paused after this many unanswered calls"), min_value=0, max_value=100,
        initial=3, help_text=_("0: never paused."))

    def __init__(self, *args, users=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [(str(u.pk), u.email) for u in users]


class LicencesForm(forms.Form):
    licences = forms.IntegerField(label=_("Licences"), min_value=0, max_value=MAX_LICENCES,
                                  help_text=_("How many agents may be logged in at once."))


class QueueForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    strategy = forms.ChoiceField(label=_("Strategy"),
                                 choices=[(s.value, label) for s, label in
                                          STRATEGY_LABELS.items()])
    ring_timeout_seconds = forms.IntegerField(label=_("Ring timeout per agent (s)"),
                                              min_value=5, max_value=600, initial=20)
    escalation_seconds = forms.IntegerField(
        label=_("Next tier after (s)"), min_value=0, max_value=3600, initial=30,
        help_text=_("How long a caller waits on a ringing tier before the next one joins."))
    max_wait_seconds = forms.IntegerField(label=_("Maximum wait (s)"), min_value=0,
                                          max_value=86_400, initial=0,
                                          help_text=_("0: no limit."))
    max_length = forms.IntegerField(label=_("Maximum callers waiting"), min_value=0,
                                    max_value=10_000, initial=0, help_text=_("0: no limit."))
    when_no_agent = forms.ChoiceField(label=_("When no agent is logged in"),
                                      choices=NoAgentBehaviour.choices)
    recording = forms.BooleanField(label=_("Record calls"), required=False)
    announce_seconds = forms.IntegerField(
        label=_("Announce the position every (s)"), min_value=0, max_value=3600, initial=0,
        help_text=_("Waiting callers hear their place in the queue. 0: never."))
    language = forms.ChoiceField(label=_("Language of the announcements"),
                                 choices=[("fr", "Français"), ("en", "English")])
    hours = HoursField(
        label=_("Opening hours"), required=False,
        help_text=_("One line per day or range of days, e.g. “mon-fri 09:00-12:00 "
                    "14:00-18:00”, “closed 2026-12-25”, “timezone Europe/Paris”. Empty: "
                    "always open. Callers arriving while closed go to the closed-hours "
                    "overflow."))
    callback_key = forms.ChoiceField(
        label=_("Callback key"), required=False,
        choices=[("", _("No callback")), *((k, k) for k in "0123456789*#")],
        help_text=_("A waiting caller who presses it leaves a callback request instead of "
                    "waiting; the position announcements offer it."))
    hold_audio_id = forms.TypedChoiceField(
        label=_("Music on hold"), required=False, empty_value=None,
        help_text=_("An uploaded audio prompt, or the built-in music."))

    def __init__(self, *args, audio_prompts=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hold_audio_id"].choices = [
            ("", _("Built-in music")), *((str(p.pk), p.name) for p in audio_prompts)]
