"""Forms of the contact-center pages: the number catalogue's filters, the call history's
filters, an uploaded prompt, and the "listen" rendering of a TTS prompt. They check shape
only; the rules stay in chappe.callcenter's services (see chappe/web/forms.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from chappe.callcenter.models import Direction, Disposition, NumberType
from chappe.callcenter.services import MAX_UPLOAD_BYTES
from chappe.web.forms import _any, _date_input


class CatalogueFilterForm(forms.Form):
    country = forms.CharField(label=_("Country"), max_length=2, required=False,
                              help_text=_("Two-letter code, e.g. FR."))
    number_type = forms.ChoiceField(label=_("Type"), required=False,
                                    choices=_any(NumberType.choices))


class CallFilterForm(forms.Form):
    direction = forms.ChoiceField(label=_("Direction"), required=False,
                                  choices=_any(Direction.choices))
    disposition = forms.ChoiceField(label=_("Outcome"), required=False,
                                    choices=_any(Disposition.choices))
    number = forms.CharField(label=_("Number"), max_length=32, required=False,
                             help_text=_("The caller or the number called."))
    since = forms.DateField(label=_("Since"), required=False, widget=_date_input())
    until = forms.DateField(label=_("Until"), required=False, widget=_date_input())


class AudioPromptForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    file = forms.FileField(
        label=_("Recording"),
        help_text=_("A WAV, MP3, OGG or FLAC file of at most 20 MB; it is converted for the "
                    "telephone (8 kHz, mono)."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("At most 20 MB."))
        return upload


class ListenForm(forms.Form):
    text = forms.CharField(max_length=2000)
    language = forms.ChoiceField(choices=[("fr", "fr"), ("en", "en")])
    voice = forms.RegexField(regex=r"^[A-Za-z0-9][A-Za-z0-9_+\-]*$", max_length=50,
                             required=False)
