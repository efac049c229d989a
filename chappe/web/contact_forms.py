"""Forms of the address book pages. As elsewhere, forms check shape only: numbers, e-mails,
custom values and duplicates are checked by the services, whose `ValidationFailed`
details come back on these fields (custom fields are named `custom.<key>`, as the
service's error keys)."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chappe.contacts.fields import BUILTIN_FIELDS, CUSTOM_PREFIX, FieldSpec
from chappe.contacts.models import ContactList, CustomFieldType, DuplicateMode, OptOutSource

BUILTIN_LABELS = {
    "mobile": _("Mobile"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "company": _("Company"),
    "phone": _("Other phone"),
    "email": _("E-mail"),
    "address": _("Address"),
    "city": _("City"),
    "country": _("Country"),
}
OTHER_FIELDS = [name for name in BUILTIN_FIELDS if name != "mobile"]


def target_label(target: str, specs: dict[str, FieldSpec]) -> str:
    if target.startswith(CUSTOM_PREFIX):
        spec = specs.get(target.removeprefix(CUSTOM_PREFIX))
        return str(spec.label if spec else target)
    return str(BUILTIN_LABELS.get(target, target))


def list_choices(lists: Sequence[ContactList]) -> list[tuple[str, str]]:
    return [(str(cl.pk), cl.name) for cl in lists]


class ContactSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _(
                            "Name, company, e-mail, city or number")}))
    list = forms.ChoiceField(label=_("List"), required=False)

    def __init__(self, *args: Any, lists: Sequence[ContactList] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["list"].choices = [("", _("All contacts")), *list_choices(lists)]


class ContactForm(forms.Form):
    """A contact: the built-in fields, one field per custom field, and its lists."""

    mobile = forms.CharField(label=_("Mobile"), max_length=40,
                             help_text=_("In international (+33…) or national form."))
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    phone = forms.CharField(label=_("Other phone"), max_length=40, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False,
                            widget=forms.EmailInput)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    country = forms.CharField(label=_("Country"), max_length=60, required=False)
    lists = forms.MultipleChoiceField(label=_("Lists"), required=False,
                                      widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, specs: dict[str, FieldSpec], lists: Sequence[ContactList],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.specs = specs
        for key, spec in specs.items():
            name = f"custom.{key}"
            field: forms.Field
            if spec.type == CustomFieldType.CHOICE:
                field = forms.ChoiceField(choices=[("", "—"), *((c, c) for c in spec.choices)])
            elif spec.type == CustomFieldType.DATE:
                field = forms.CharField(widget=forms.DateInput(attrs={"type": "date"}))
            elif spec.type == CustomFieldType.NUMBER:
                field = forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}))
            else:
                field = forms.CharField(max_length=500)
            field.required = False
            field.label = spec.label
            self.fields[name] = field
        self.fields["lists"].choices = list_choices(lists)
        self.order_fields([*BUILTIN_FIELDS, *(f"custom.{k}" for k in specs), "lists"])

    def custom_fields(self) -> list[forms.BoundField]:
        return [self[f"custom.{key}"] for key in self.specs]

    def values(self) -> dict[str, str]:
        return {name: (self.cleaned_data.get(name) or "").strip() for name in OTHER_FIELDS}

    def custom(self) -> dict[str, Any]:
        return {key: (self.cleaned_data.get(f"custom.{key}") or None) for key in self.specs}

    @staticmethod
    def initial_for(contact: Any) -> dict[str, Any]:
        initial = {name: getattr(contact, name) for name in BUILTIN_FIELDS}
        initial.update({f"custom.{k}": v for k, v in contact.custom.items()})
        initial["lists"] = [str(cl.pk) for cl in contact.lists.all()]
        return initial


class ContactListForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)


class AddMembersForm(forms.Form):
    numbers = forms.CharField(
        label=_("Add contacts by number"),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false",
                                     "placeholder": "+33612345678\n06 12 34 56 78"}),
        help_text=_("One number per line; they must already be contacts."))


class CustomFieldForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=100)
    key = forms.CharField(label=_("Key"), max_length=40,
                          help_text=_("Names the value in imports, the API and message "
                                      "placeholders, e.g. loyalty_level. Cannot change later."))
    type = forms.ChoiceField(label=_("Type"), choices=CustomFieldType.choices)
    choices = forms.CharField(label=_("Choices"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("For the choice type: one per line."))

    def choice_list(self) -> list[str]:
        return [line.strip() for line in (self.cleaned_data.get("choices") or "").splitlines()
                if line.strip()]


class CustomFieldEditForm(CustomFieldForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["key"]
        del self.fields["type"]


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_(
        "CSV (comma, semicolon or tab; UTF-8, Windows-1252 or Latin-1) or Excel .xlsx; "
        "up to 50 MB. The first row may name the columns."))
    duplicates = forms.ChoiceField(label=_("Numbers already in the address book"),
                                   choices=DuplicateMode.choices, initial=DuplicateMode.MERGE,
                                   widget=forms.RadioSelect)
    target_list = forms.ChoiceField(label=_("Also add the contacts to the list"), required=False)

    def __init__(self, *args: Any, lists: Sequence[ContactList] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_list"].choices = [("", "—"), *list_choices(lists)]


class ImportMappingForm(forms.Form):
    """One select per column of the file, then the options of the import."""

    has_header = forms.BooleanField(label=_("The first row names the columns"), required=False)
    duplicates = forms.ChoiceField(label=_("Numbers already in the address book"),
                                   choices=DuplicateMode.choices, widget=forms.RadioSelect)
    target_list = forms.ChoiceField(label=_("Also add the contacts to the list"), required=False)

    def __init__(self, *args: Any, columns: Sequence[str], targets: Sequence[tuple[str, str]],
                 lists: Sequence[ContactList] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.columns = list(columns)
        for index, label in enumerate(self.columns):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=label, required=False,
                choices=[("", _("— ignore —")), *targets])
        self.fields["target_list"].choices = [("", "—"), *list_choices(lists)]

    def column_fields(self) -> list[forms.BoundField]:
        return [self[f"column_{i}"] for i in range(len(self.columns))]

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"column_{i}") or "" for i in range(len(self.columns))]

    @staticmethod
    def initial_for(imp: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {f"column_{i}": t for i, t in enumerate(imp.mapping)}
        initial.update(has_header=imp.has_header, duplicates=imp.duplicates,
                       target_list=str(imp.target_list_id or ""))
        return initial


class OptOutForm(forms.Form):
    number = forms.CharField(label=_("Number"), max_length=40)
    note = forms.CharField(label=_("Note"), max_length=200, required=False,
                           help_text=_("Optional: how the person asked, for example."))


class OptOutImportForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_(
        "CSV or .xlsx: the first phone number of each row is added."))


class OptOutRemoveForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), min_length=3, max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Why this number may receive messages again "
                                         "(kept in the audit log)."))


class RedListPolicyForm(forms.Form):
    self_managed = forms.BooleanField(label=_("We manage our red list ourselves"),
                                      required=False)
    statement = forms.CharField(
        label=_("Written statement"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required to manage it yourselves, e.g. “Acme chooses to manage its "
                    "opt-out list itself and takes responsibility for it.”"))


class OptOutFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=40)
    source = forms.ChoiceField(label=_("Source"), required=False,
                               choices=[("", _("All sources")), *OptOutSource.choices])


class RecipientForm(forms.Form):
    number = forms.CharField(label=_("Phone number"), max_length=40,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))


class ErasureForm(RecipientForm):
    keep_opt_out = forms.BooleanField(
        label=_("Keep the person on the red list (as a keyed hash, without the number)"),
        required=False, initial=True)
    confirm = forms.BooleanField(label=_("I understand that this cannot be undone"))
