"""The record of each termination purge (P-9)."""

from django.db import models


class AccountPurge(models.Model):
    """A terminated account whose data was purged (P-9): when, and how many rows of each
    model went. What the law keeps stays (privacy/purge.py)."""

    account = models.OneToOneField("accounts.Account", on_delete=models.PROTECT,
                                   related_name="purge")
    purged_at = models.DateTimeField()
    counts = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"purge of {self.account_id} at {self.purged_at:%Y-%m-%d}"
