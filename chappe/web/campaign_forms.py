"""The campaign form: content, audience picker (lists or the whole book, up to
`FILTER_ROWS` filters on contact fields, pasted numbers) and schedule. As elsewhere it
checks shape only; the service (`campaign_create` / `campaign_update`) checks the rest and
its errors come back on these fields (a filter's error on `filters.<n>`)."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chappe.accounts.models import Account
from chappe.campaigns.models import Campaign
from chappe.contacts.fields import CUSTOM_PREFIX, FieldSpec
from chappe.contacts.models import ContactList
from chappe.messaging.models import MessageKind
from chappe.web.contact_forms import BUILTIN_LABELS
from chappe.web.forms import SmsSendForm, account_zone
from chappe.web.sms import split_recipients

FILTER_ROWS = 3
OPS = [
    ("eq", _("is")),
    ("ne", _("is not")),
    ("contains", _("contains")),
    ("empty", _("is empty")),
    ("not_empty", _("is not empty")),
    ("gte", _("is at least")),
    ("lte", _("is at most")),
]


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("For you: recipients do not see it."))
    kind = forms.ChoiceField(
        label=_("Type"), choices=MessageKind.choices, initial=MessageKind.MARKETING,
        help_text=_("Marketing messages end with the STOP mention and leave only during the "
                    "hours when marketing is allowed (deferred otherwise)."))
    sender = forms.CharField(label=_("Sender"), max_length=20)
    text = forms.CharField(label=_("Message"), strip=False,
                           widget=forms.Textarea(attrs={"rows": 5}))
    stop_mention = forms.BooleanField(
        label=_("Add the STOP mention"), required=False, initial=True,
        help_text=_("Always added to marketing messages."))
    max_segments = forms.IntegerField(
        label=_("Maximum segments"), min_value=1, max_value=20, required=False,
        help_text=_("Recipients whose message would need more SMS than this are skipped."))
    send_at = forms.CharField(label=_("Send at"), required=False,
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    lists = forms.MultipleChoiceField(label=_("Lists"), required=False,
                                      widget=forms.CheckboxSelectMultiple)
    all_contacts = forms.BooleanField(label=_("All my contacts"), required=False,
                                      help_text=_("Instead of choosing lists."))
    numbers = forms.CharField(
        label=_("Other numbers"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false",
                                     "placeholder": "+33612345678\n06 12 34 56 78"}),
        help_text=_("One per line (or separated by commas): they receive the message with "
                    "the placeholders' defaults."))

    # A `datetime-local` value read in the account's zone, as on the SMS form.
    clean_send_at = SmsSendForm.clean_send_at

    def __init__(self, *args: Any, account: Account, lists: Sequence[ContactList],
                 specs: dict[str, FieldSpec], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = account_zone(account)
        self.fields["send_at"].help_text = _(
            "In the account's time zone (%(zone)s). Leave empty to send at launch.") % {
            "zone": self.zone.key}
        self.fields["lists"].choices = [
            (str(cl.pk), f"{cl.name} ({getattr(cl, 'size', 0)})") for cl in lists]
        keys = [*BUILTIN_LABELS.items(), *((f"{CUSTOM_PREFIX}{k}", s.label)
                                           for k, s in specs.items())]
        self.fields["text"].help_text = _(
            "Personalise with placeholders: %(keys)s. A default for empty values goes after "
            "a bar: {first_name|Client}.") % {"keys": ", ".join(
                f"{{{key.removeprefix(CUSTOM_PREFIX)}}}" for key, _label in keys
                if key != "mobile")}
        for index in range(FILTER_ROWS):
            self.fields[f"filter_field_{index}"] = forms.ChoiceField(
                label=_("Field"), required=False,
                choices=[("", "—"), *((key, str(label)) for key, label in keys)])
            self.fields[f"filter_op_{index}"] = forms.ChoiceField(
                label=_("Comparison"), required=False, choices=OPS)
            self.fields[f"filter_value_{index}"] = forms.CharField(
                label=_("Value"), required=False, max_length=500)

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        zone = account_zone(campaign.account)
        initial: dict[str, Any] = {
            "name": campaign.name, "kind": campaign.kind, "sender": campaign.sender,
            "text": campaign.text, "stop_mention": campaign.stop_mention,
            "max_segments": campaign.max_segments,
            "send_at": (campaign.send_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
                        if campaign.send_at else ""),
            "lists": [str(cl.pk) for cl in campaign.lists.all()],
            "all_contacts": campaign.all_contacts, "numbers": "\n".join(campaign.numbers)}
        for index, spec in enumerate(campaign.filters[:FILTER_ROWS]):
            initial[f"filter_field_{index}"] = spec["field"]
            initial[f"filter_op_{index}"] = spec["op"]
            initial[f"filter_value_{index}"] = spec.get("value", "")
        return initial

    def filter_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [(self[f"filter_field_{i}"], self[f"filter_op_{i}"], self[f"filter_value_{i}"])
                for i in range(FILTER_ROWS)]

    def error_field(self, key: str) -> str:
        """The form field showing the service's error `key` ("filters.<n>" is the n-th
        filter given, on its value)."""
        if key.startswith("filters."):
            rows = [i for i in range(FILTER_ROWS) if self.cleaned_data.get(f"filter_field_{i}")]
            index = int(key.removeprefix("filters."))
            return f"filter_value_{rows[index]}" if index < len(rows) else key
        return key

    def values(self) -> dict[str, Any]:
        """The service's values (lists aside)."""
        data = self.cleaned_data
        filters = [{"field": data[f"filter_field_{i}"], "op": data[f"filter_op_{i}"],
                    "value": data[f"filter_value_{i}"]}
                   for i in range(FILTER_ROWS) if data.get(f"filter_field_{i}")]
        return {
            "name": data["name"], "kind": data["kind"], "sender": data["sender"],
            "text": data["text"],
            # Marketing always carries the mention (M-10): the box only matters otherwise.
            "stop_mention": data["stop_mention"] or data["kind"] == MessageKind.MARKETING,
            "max_segments": data["max_segments"], "send_at": data["send_at"],
            "all_contacts": data["all_contacts"], "filters": filters,
            "numbers": split_recipients(data["numbers"])}

    def chosen_lists(self, lists: Sequence[ContactList]) -> list[ContactList]:
        chosen = set(self.cleaned_data.get("lists") or [])
        return [cl for cl in lists if str(cl.pk) in chosen]
