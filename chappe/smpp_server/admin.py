from django import forms
from django.contrib import admin

from chappe.smpp_server.models import SmppAccount


class SmppAccountForm(forms.ModelForm):
    password = forms.CharField(max_length=8, required=False, widget=forms.PasswordInput,
                               help_text="1 to 8 characters; leave empty to keep it.")

    class Meta:
        model = SmppAccount
        fields = ("account", "system_id", "allowed_ips", "max_binds", "max_msg_per_s",
                  "default_sender", "enabled")

    def clean(self):
        data = super().clean()
        if not self.instance.password_hash and not data.get("password"):
            self.add_error("password", "Set a password.")
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
