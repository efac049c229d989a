"""Time2Chat declarations and sessions (M-14, decision 0050).

A **declaration** ties one of the account's rented 09 numbers (`callcenter`'s catalogue,
type `t2c_09`) to what the operators require — the client's name, SIRET, the usage and a
contact — and is required before the number sends. Ending it releases the number into a
quarantine (`quarantine_until`) before the catalogue offers it again.

A **session** is the window an MO opens with one correspondent, until midnight
(Europe/Paris) of the day its first MO arrived; MTs inside it are free.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.common.ids import uuid7


class Declaration(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="t2c_declarations")
    rental = models.ForeignKey("callcenter.NumberRental", on_delete=models.PROTECT,
                               related_name="t2c_declarations")
    number = models.CharField(max_length=16, help_text=_("The 09 number, E.164"))
    client_name = models.CharField(max_length=200)
    siret = models.CharField(max_length=14)
    usage = models.CharField(max_length=500)
    contact_last_name = models.CharField(max_length=100)
    contact_first_name = models.CharField(max_length=100)
    contact_phone = models.CharField(max_length=20)
    contact_email = models.EmailField()
    declared_at = models.DateTimeField()
    declared_by = models.CharField(max_length=254, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    quarantine_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-declared_at"]
        constraints = [models.UniqueConstraint(
            fields=["number"], condition=models.Q(ended_at__isnull=True),
            name="t2c_one_live_declaration_per_number")]

    def __str__(self) -> str:
        return f"{self.number} ({self.client_name})"


class Session(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="t2c_sessions")
    number = models.CharField(max_length=16)
    correspondent = models.CharField(max_length=20)
    opened_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Every MO opens or re-opens the session and is billed (M-14).
    mo_count = models.PositiveIntegerField(default=0)
    billed_micros = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["number", "correspondent", "-ends_at"],
                                name="t2c_session_open_idx")]

    def __str__(self) -> str:
        return f"{self.number} ↔ {self.correspondent} until {self.ends_at:%Y-%m-%d %H:%M}"
