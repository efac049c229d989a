"""The RCS agent form: shape only; the rules (image formats and sizes, colour, phone,
re-validation after a change) stay in `chappe.messaging.rcs.agents`, as for the API."""

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from chappe.messaging.rcs.assets import BANNER, LOGO, AssetRule
from chappe.messaging.rcs.models import UseCase


def upload_bytes(upload: UploadedFile | None, rule: AssetRule) -> bytes | None:
    """An uploaded image's bytes for the service's check, read no further than one byte
    past its size limit (the service refuses what is over)."""
    if upload is None:
        return None
    return upload.read(rule.max_bytes + 1)


class RcsAgentForm(forms.Form):
    brand_name = forms.CharField(label=_("Brand name"), max_length=40)
    description = forms.CharField(label=_("Description"), max_length=100)
    color = forms.RegexField(label=_("Colour"), regex=r"^#[0-9A-Fa-f]{6}$", max_length=7,
                             help_text=_("#RRGGBB"))
    phone = forms.CharField(label=_("Phone"), max_length=20)
    website = forms.URLField(label=_("Website"), max_length=300)
    email = forms.EmailField(label=_("E-mail"))
    privacy_url = forms.URLField(label=_("Privacy policy URL"), max_length=300)
    terms_url = forms.URLField(label=_("Terms of service URL"), max_length=300)
    use_case = forms.ChoiceField(label=_("Use case"), choices=UseCase.choices)
    logo = forms.FileField(label=_("Logo"), required=False,
                           help_text=_("PNG or JPEG, 224x224 pixels, at most 50 KB."))
    banner = forms.FileField(label=_("Banner"), required=False,
                             help_text=_("PNG or JPEG, 1440x448 pixels, at most 200 KB."))

    def service_arguments(self) -> dict:
        """The cleaned fields as `rcs_agent_create` / `rcs_agent_update` take them."""
        data = dict(self.cleaned_data)
        data["logo"] = upload_bytes(data.pop("logo"), LOGO)
        data["banner"] = upload_bytes(data.pop("banner"), BANNER)
        return data
