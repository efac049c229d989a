"""Address book and red list. The red list (M-5) comes first: every send skips it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OptOutSource(models.TextChoices):
    STOP_REPLY = "stop_reply", _("STOP reply")
    MANUAL = "manual", _("Added by hand")
    IMPORT = "import", _("Import")
    API = "api", _("API")


class OptOut(models.Model):
    """A number that does not want this account's messages (M-5)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="opt_outs")
    number = models.CharField(max_length=20, help_text=_("E.164"))
    source = models.CharField(max_length=16, choices=OptOutSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="one_opt_out_per_number")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number
