"""Fines passed on (P-18): what a carrier or an authority charged the operator because
of a client's non-compliant sender ID or smishing, re-billed to that client in full on
its next monthly invoice. Billing proof, kept 10 years (account `PROTECT`)."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.billing.models._base import _currency_field


class Fine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="fines")
    service_kind = models.CharField(max_length=32, default="messaging")
    imposed_by = models.CharField(_("imposed by"), max_length=200,
                                  help_text=_("The carrier or authority"))
    reason = models.CharField(max_length=300)
    reference = models.CharField(max_length=100, blank=True,
                                 help_text=_("The carrier's or authority's reference"))
    amount_micros = models.BigIntegerField()
    currency = _currency_field()
    imposed_on = models.DateField()
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    # The invoice that re-billed it (None: on the next one).
    invoice = models.ForeignKey("billing.Invoice", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="fines")

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["account", "service_kind", "invoice"])]

    def __str__(self) -> str:
        return f"{self.imposed_by} · {self.account} · {self.reason[:40]}"
