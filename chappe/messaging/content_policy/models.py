"""The operator's content policy (M-11, P-17, M-2) and what it caught.

Lists the operator keeps (the back-office, feed imports): domains blocked or known as link
shorteners, brands protected from look-alike senders, content rules, senders registered
in the countries that accept only those, the accounts allowed shorteners. Every change
bumps `PolicyVersion`, which the web, SMPP and worker processes read to know that their
copy of the lists is stale (`content_policy.cache`).

What the check caught: `PolicyHit` (one row per refused or held message batch, for the
operator and for noticing repeated attempts) and `ContentReview` (a held send waiting for
the operator's release or refusal)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.common.ids import uuid7


class DomainKind(models.TextChoices):
    BLOCKED = "blocked", _("Blocked (refused)")
    SHORTENER = "shortener", _("Link shortener (held unless allowed)")


class PolicyDomain(models.Model):
    """A domain (and all its sub-domains) the policy knows: blocked, or a shortener."""

    domain = models.CharField(max_length=253, unique=True)
    kind = models.CharField(max_length=16, choices=DomainKind.choices)
    # Where it came from: "operator", or the feed file's name.
    source = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]
        verbose_name = _("policy domain")

    def __str__(self) -> str:
        return f"{self.domain} ({self.kind})"


class ProtectedBrand(models.Model):
    """A brand whose look-alike sender IDs are held (beside the AF2M lists, M-2)."""

    name = models.CharField(max_length=40, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("protected brand")

    def __str__(self) -> str:
        return self.name


class RuleKind(models.TextChoices):
    WORD = "word", _("Word or phrase")
    PATTERN = "pattern", _("Regular expression")


class RuleAction(models.TextChoices):
    HOLD = "hold", _("Hold for review")
    BLOCK = "block", _("Refuse")


class ContentRule(models.Model):
    """An acceptable-use rule (P-17): a word/phrase or a pattern, held or refused."""

    name = models.CharField(max_length=60, unique=True,
                            help_text=_("Shown to the client when it refuses or holds a send."))
    kind = models.CharField(max_length=8, choices=RuleKind.choices)
    value = models.CharField(max_length=500)
    action = models.CharField(max_length=8, choices=RuleAction.choices, default=RuleAction.HOLD)
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("content rule")

    def __str__(self) -> str:
        return self.name


class ShortenerPermit(models.Model):
    """An account the operator allows link shorteners (M-11)."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE,
                                   related_name="shortener_permit")
    note = models.CharField(max_length=200, blank=True)
    granted_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("shortener permit")

    def __str__(self) -> str:
        return str(self.account_id)


class RegisteredSender(models.Model):
    """A sender registered in a country whose rule is `registered_only` (M-2): for one
    account, or for all (no account: a shared code, the operator's own)."""

    country = models.CharField(max_length=2)
    name = models.CharField(max_length=20)
    account = models.ForeignKey("accounts.Account", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="registered_senders")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["country", "name"]
        verbose_name = _("registered sender")
        constraints = [models.UniqueConstraint(fields=["country", "name", "account"],
                                               name="one_registration_per_sender")]

    def __str__(self) -> str:
        return f"{self.name} ({self.country})"


class PolicyVersion(models.Model):
    """One row: bumped by every change of the lists above (`content_policy.cache`)."""

    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.version)


class PolicyHit(models.Model):
    """A send refused or held by the policy: what for, from which account. Repeated
    refusals of one account on one rule with different texts or senders are how a
    bypass attempt looks (`flagged`)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="policy_hits")
    send_id = models.UUIDField(null=True, blank=True)
    # The rule's code ("blocked_domain", "shortener", "brand_lookalike", "rule",
    # "advertiser_missing") and what matched (a domain, a brand, a rule's name).
    code = models.CharField(max_length=32)
    matched = models.CharField(max_length=253, blank=True)
    action = models.CharField(max_length=8, choices=RuleAction.choices)
    sender = models.CharField(max_length=20, blank=True)
    text_hash = models.CharField(max_length=64)
    text = models.TextField()
    messages = models.PositiveIntegerField(default=0)
    flagged = models.BooleanField(default=False, help_text=_(
        "Looks like an attempt to get round an earlier refusal."))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("policy hit")
        indexes = [models.Index(fields=["account", "code", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.code} {self.matched}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    RELEASED = "released", _("Released")
    REFUSED = "refused", _("Refused")


class ContentReview(models.Model):
    """A send whose messages the policy held (`held_for_review`), waiting for the
    operator: released, they leave as if just accepted; refused, they are rejected and
    their charge is given back."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="content_reviews")
    send = models.OneToOneField("messaging.Send", on_delete=models.CASCADE,
                                related_name="content_review")
    # [{"code", "matched", "message"}]: why it was held.
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=ReviewStatus.choices,
                              default=ReviewStatus.PENDING)
    decided_by = models.CharField(max_length=254, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("held send")
        verbose_name_plural = _("held sends (review queue)")
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"review of {self.send_id}"
