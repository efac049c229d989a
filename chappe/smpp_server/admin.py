from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from chappe.smpp_server.models import SmppAccount
from chappe.smpp_server.services import smpp_credentials_check


class SmppAccountForm(forms.ModelForm):
    """The back-office's form, held to the limits of the services (SMPP 3.4 sizes)."""

    password = forms.CharField(required=False, widget=forms.PasswordInput,
                               help_text=_("1 to 8 characters; leave empty to keep it."))

    class Meta:
        model = SmppAccount
        fields = ("account", "system_id", "allowed_ips", "max_binds", "max_msg_per_s",
                  "default_sender", "default_alphabet", "enabled")

    def clean(self):
        data = super().clean()
        if not self.instance.password_hash and not data.get("password"):
            self.add_error("password", _("Set a password."))
        system_id = data.get("system_id")
        problems = smpp_credentials_check(
            system_id=system_id if system_id != self.instance.system_id else None,
            password=data.get("password") or None)
        for field, messages in problems.items():
            self.add_error(field, messages)
        return data

    def save(self, commit: bool = True):
        smpp = super().save(commit=False)
        if self.cleaned_data.get("password"):
            smpp.set_password(self.cleaned_data["password"])
        if commit:
            smpp.save()
        return smpp


@admin.register(SmppAccount)
class SmppAccountAdmin(admin.ModelAdmin):
    form = SmppAccountForm
    list_display = ("system_id", "account", "max_binds", "max_msg_per_s", "enabled")
    search_fields = ("system_id", "account__name")
    raw_id_fields = ("account",)
