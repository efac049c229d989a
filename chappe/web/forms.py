"""Input validation of the web app's forms. Forms only check shape (required, length,
e-mail syntax, one of the choices); the business rules stay in the services, whose
`ValidationFailed.details` are put back on these fields by `apply_service_error`."""

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from chappe.accounts.models import Account
from chappe.accounts.roles import Role
from chappe.billing.models import Book, EntryReason, InvoiceStatus
from chappe.billing.rating import Product
from chappe.billing.services.credits import PACK_PRODUCTS
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import MessageKind
from chappe.smpp_server.models import Alphabet
from chappe.web.labels import status_label
from chappe.web.sms import split_recipients

ACCOUNT_FIELDS = [
    "name",
    "siret",
    "vat_number",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "billing_email",
    "dpo_name",
    "dpo_email",
    "timezone",
    "default_country",
]


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("Wrong e-mail address or password."),
        "inactive": _("This account is inactive."),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("E-mail address")
        self.fields["username"].widget.attrs.update(autocomplete="email", autofocus=True)
        self.fields["password"].label = _("Password")


class AccountForm(forms.Form):
    """The company details of an account (the whole set, as shown on the edit page)."""

    name = forms.CharField(label=_("Company name"), max_length=200)
    siret = forms.CharField(label=_("SIRET"), max_length=20, required=False,
                            help_text=_("14 digits, for companies registered in France."))
    vat_number = forms.CharField(label=_("VAT number"), max_length=20, required=False)
    address_line1 = forms.CharField(label=_("Address"), max_length=200, required=False)
    address_line2 = forms.CharField(label=_("Address (continued)"), max_length=200,
                                    required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    country = forms.CharField(label=_("Country"), max_length=2, required=False,
                              help_text=_("Two-letter ISO code, e.g. FR."))
    billing_email = forms.EmailField(label=_("Billing e-mail"), required=False)
    dpo_name = forms.CharField(label=_("Data protection officer"), max_length=200,
                               required=False)
    dpo_email = forms.EmailField(label=_("DPO e-mail"), required=False)
    timezone = forms.CharField(label=_("Time zone"), max_length=64, required=False,
                               help_text=_("IANA name, e.g. Europe/Paris."))
    default_country = forms.CharField(
        label=_("Default country"), max_length=2, required=False,
        help_text=_("Country assumed for phone numbers written without a prefix."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].widget.attrs["list"] = "timezones"
        for name in ("country", "default_country"):
            self.fields[name].widget.attrs.update(size=3, style="text-transform: uppercase")

    @staticmethod
    def initial_for(account: Account) -> dict[str, Any]:
        return {name: getattr(account, name) for name in ACCOUNT_FIELDS}

    def changes(self) -> dict[str, Any]:
        """The fields to pass to `account_update`: all of them, stripped."""
        return {name: (self.cleaned_data.get(name) or "").strip() for name in ACCOUNT_FIELDS}

    def given(self) -> dict[str, Any]:
        """The fields to pass to `account_create`: only those filled in, so that the
        others are inherited from the parent account."""
        return {key: value for key, value in self.changes().items() if value}


class SubaccountForm(AccountForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("timezone", "country", "default_country"):
            self.fields[name].help_text = _("Leave empty to use the parent account's.")


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MESSAGING_USER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("What the key is for, e.g. “CRM integration”."))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.ADMINISTRATOR,
                             help_text=_("A key can do what a user of this role can do."))


def _networks(value: str) -> list[str]:
    return [part for part in value.replace(",", " ").split() if part]


class SmppAccountEditForm(forms.Form):
    """What can change on SMPP credentials; the service validates values and limits."""

    password = forms.CharField(
        label=_("New password"), required=False, max_length=8, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At most 8 characters (SMPP 3.4). Leave empty to keep the current one."))
    allowed_ips = forms.CharField(
        label=_("Allowed addresses"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("IP addresses or networks (203.0.113.0/24), one per line. Empty: any "
                    "address."))
    max_binds = forms.IntegerField(label=_("Simultaneous binds"), min_value=1, initial=4)
    max_msg_per_s = forms.IntegerField(
        label=_("Messages per second"), min_value=1, initial=100,
        help_text=_("Above this rate submits are answered ESME_RTHROTTLED."))
    default_sender = forms.CharField(
        label=_("Default sender"), required=False, max_length=16,
        help_text=_("Used when a submit_sm has no source address."))
    default_alphabet = forms.TypedChoiceField(
        label=_("Default alphabet"), choices=Alphabet.choices, initial=Alphabet.GSM,
        required=False, empty_value=None,
        help_text=_("How text sent with data_coding 0 is read."))

    def clean_allowed_ips(self) -> list[str]:
        return _networks(self.cleaned_data["allowed_ips"])


class SmppAccountForm(SmppAccountEditForm):
    system_id = forms.CharField(label=_("System ID"), max_length=15,
                                help_text=_("The login of the bind: letters, digits, “.”, "
                                            "“_” or “-”, at most 15 (SMPP 3.4)."))
    password = forms.CharField(
        label=_("Password"), max_length=8, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At most 8 characters (SMPP 3.4); stored hashed, never shown again."))
    field_order = ["system_id", "password"]


class InvitationAcceptForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    password = forms.CharField(
        label=_("Password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password_confirm = forms.CharField(
        label=_("Password confirmation"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password, confirm = data.get("password"), data.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", _("The two passwords do not match."))
        return data


class AuditFilterForm(forms.Form):
    action = forms.CharField(
        label=_("Action starts with"), max_length=64, required=False,
        widget=forms.TextInput(attrs={"list": "audit-actions", "placeholder": "api_key"}),
    )


def timezone_names() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def account_zone(account: Account) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(account.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return zoneinfo.ZoneInfo("UTC")


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def day_range(since: date | None, until: date | None,
              tz: zoneinfo.ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """Local calendar days, both inclusive, as the half-open instant range selectors take
    (`since` ≤ t < `until`), in the account's time zone."""
    start = datetime.combine(since, time(), tzinfo=tz) if since else None
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=tz) if until else None
    return start, end


# --- SMS ------------------------------------------------------------------------------


class SmsSendForm(forms.Form):
    """The send form. Only shape is checked here; numbers, senders, segments, credit and
    schedule limits are the service's (`sms_send`), whose errors come back on the fields."""

    recipients = forms.CharField(
        label=_("Recipients"),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off",
                                     "placeholder": "+33612345678\n06 12 34 56 78"}),
    )
    sender = forms.CharField(
        label=_("Sender"), max_length=20,
        widget=forms.TextInput(attrs={"list": "recent-senders", "autocomplete": "off"}),
        help_text=_("Up to 11 letters and digits, or a number. It may be adapted to the rules "
                    "of each destination country."),
    )
    text = forms.CharField(label=_("Message"), strip=False,
                           widget=forms.Textarea(attrs={"rows": 6}))
    kind = forms.ChoiceField(
        label=_("Type"), choices=MessageKind.choices, initial=MessageKind.TRANSACTIONAL,
        help_text=_("Marketing messages end with the STOP mention and wait for the hours "
                    "when marketing is allowed."),
    )
    send_at = forms.CharField(
        label=_("Send at"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    reference = forms.CharField(
        label=_("Reference"), max_length=40, required=False,
        help_text=_("Your own label, to find these messages later."),
    )
    max_segments = forms.IntegerField(
        label=_("Maximum segments"), min_value=1, max_value=255, required=False,
        help_text=_("Refuse the send if the text needs more SMS than this."),
    )
    allow_reply = forms.BooleanField(
        label=_("Allow replies"), required=False,
        help_text=_("Recipients can answer; their replies are listed on the Replies page."),
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = account_zone(account)
        self.fields["recipients"].help_text = _(
            "One number per line, or separated by commas or semicolons. Numbers without an "
            "international prefix are read as numbers of %(country)s."
        ) % {"country": escape(account.default_country)}
        self.fields["send_at"].help_text = _(
            "In the account's time zone (%(zone)s). Leave empty to send now."
        ) % {"zone": escape(self.zone.key)}

    def clean_send_at(self) -> datetime | None:
        """A `datetime-local` value, read in the account's time zone, made aware."""
        raw = (self.cleaned_data.get("send_at") or "").strip()
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise forms.ValidationError(_("Enter a date and a time.")) from exc
        return value if value.tzinfo else value.replace(tzinfo=self.zone)

    def recipient_list(self) -> list[str]:
        return split_recipients(self.cleaned_data.get("recipients", ""))


def _any(choices: Any) -> list[tuple[str, Any]]:
    return [("", _("Any")), *choices]


class SmsFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=_any([(s.value, status_label(s.value)) for s in MessageStatus]),
    )
    recipient = forms.CharField(label=_("Recipient"), max_length=32, required=False)
    reference = forms.CharField(label=_("Reference"), max_length=40, required=False)
    since = forms.DateField(label=_("Since"), required=False, widget=_date_input())
    until = forms.DateField(label=_("Until"), required=False, widget=_date_input())


class SmsArchiveForm(forms.Form):
    """Search of the message archive (M-13): by number and day."""

    recipient = forms.CharField(label=_("Recipient"), max_length=32, required=False)
    since = forms.DateField(label=_("Since"), required=False, widget=_date_input())
    until = forms.DateField(label=_("Until"), required=False, widget=_date_input())


# --- billing --------------------------------------------------------------------------


class CreditBuyForm(forms.Form):
    CARD, TRANSFER = "card", "transfer"
    AMOUNT, PACK = "amount", "pack"

    what = forms.ChoiceField(
        label=_("Buy"), initial=AMOUNT, widget=forms.RadioSelect, required=False,
        choices=[(AMOUNT, _("An amount of credits")),
                 (PACK, _("A pack of messages at today's price"))],
    )
    amount = forms.DecimalField(
        label=_("Amount of credits (EUR, excluding VAT)"), min_value=Decimal(1),
        max_value=Decimal(1_000_000), max_digits=9, decimal_places=2, localize=True,
        required=False, widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}),
    )
    pack_units = forms.IntegerField(label=_("Number of messages"), min_value=1,
                                    max_value=10_000_000, required=False)
    pack_product = forms.ChoiceField(label=_("Product"), required=False,
                                     choices=[(p.value, p.label) for p in PACK_PRODUCTS])
    pack_country = forms.CharField(label=_("Destination country"), max_length=2,
                                   required=False, initial="FR")
    payment = forms.ChoiceField(
        label=_("Payment"), initial=CARD, widget=forms.RadioSelect,
        choices=[(CARD, _("Pay now by card: the credits are usable at once")),
                 (TRANSFER, _("Bank transfer: the credits are usable once we receive it"))],
    )
    card_token = forms.CharField(label=_("Card token"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("payment") == self.CARD and not data.get("card_token"):
            self.add_error("card_token", _("This field is required."))
        data["what"] = data.get("what") or self.AMOUNT
        required = (["pack_units", "pack_product", "pack_country"]
                    if data["what"] == self.PACK else ["amount"])
        for field in required:
            if not data.get(field) and field not in self.errors:
                self.add_error(field, _("This field is required."))
        return data

    def order_terms(self) -> dict[str, Any]:
        """The keyword arguments of `credit_order_create` for what was chosen."""
        data = self.cleaned_data
        if data["what"] == self.PACK:
            return {"product": data["pack_product"], "units": data["pack_units"],
                    "country": data["pack_country"].upper()}
        return {"amount": data["amount"], "currency": "EUR"}


class CardPaymentForm(forms.Form):
    card_token = forms.CharField(label=_("Card token"), max_length=200)


class InvoiceFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=_any(InvoiceStatus.choices))


class UsageFilterForm(forms.Form):
    product = forms.ChoiceField(label=_("Product"), required=False, choices=_any(Product.choices))
    since = forms.DateField(label=_("Since"), required=False, widget=_date_input())
    until = forms.DateField(label=_("Until"), required=False, widget=_date_input())


class LedgerFilterForm(forms.Form):
    book = forms.ChoiceField(label=_("Book"), required=False, choices=_any(Book.choices))
    reason = forms.ChoiceField(label=_("Reason"), required=False,
                               choices=_any(EntryReason.choices))


class EstimateForm(forms.Form):
    country = forms.CharField(
        label=_("Destination country"), max_length=2, min_length=2, required=False,
        widget=forms.TextInput(attrs={"size": 3, "style": "text-transform: uppercase"}),
    )
