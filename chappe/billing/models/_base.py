"""Shared pieces of the billing models: currencies, retention, append-only rows."""

from datetime import timedelta

from django.db import models

from chappe.billing.money import CURRENCIES, DEFAULT_CURRENCY

CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]
# P-13, C-10: billing and usage data is kept this long, even after the account is closed.
RETENTION = timedelta(days=3653)


def _currency_field() -> models.CharField:
    return models.CharField(max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY)


class AppendOnly(models.Model):
    """Rows that are facts: written once, never edited or deleted through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{type(self).__name__} rows are append-only.")
