from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.carriers.simulator.models import SimulatorInbound, SimulatorMessage
from chappe.carriers.smpp.models import SmppBindState, SmppInbox, SmppPart

# Each connector type keeps its tables in its own folder; the app sees them from here.
__all__ = ["Connector", "RefusedTransition", "Route", "SimulatorInbound", "SimulatorMessage",
           "SmppBindState", "SmppInbox", "SmppPart"]


class Connector(models.Model):
    """A configured link to a carrier (or the built-in simulator)."""

    name = models.SlugField(max_length=64, unique=True)
    # A slug of settings.CHAPPE_CONNECTOR_TYPES (`registry.py`); no choices here, so that
    # registering a type needs no migration.
    type = models.CharField(max_length=64, help_text=_("Connector type, e.g. smpp"))
    # The type's settings, validated against its schema before they are stored.
    config = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class Route(models.Model):
    """Destination → connector, most specific first (see `routing.choose_route`)."""

    priority = models.PositiveIntegerField(default=100)
    country = models.CharField(max_length=2, blank=True, help_text=_("Empty: any country"))
    prefix = models.CharField(max_length=15, blank=True, help_text=_("E.164 digits, e.g. 336"))
    connector = models.ForeignKey(Connector, on_delete=models.PROTECT, related_name="routes")
    fallback = models.ForeignKey(Connector, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="fallback_routes")

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.country or '*'}{self.prefix and ' +' + self.prefix} → {self.connector}"


class RefusedTransition(models.Model):
    """How many times a message status change was refused by the lifecycle (a late or
    repeated receipt, a bug), by (from, to): shown on /metrics as
    `chappe_message_illegal_transitions_total`.

    Counted in the database rather than in process memory because the refusals happen
    in every gateway, web worker and worker process, on any machine, and /metrics is
    served by whichever web process is scraped: a table is the one figure they all add
    to and any of them can read (prometheus_client's multiprocess mode would only see the
    processes of one machine, through files under its data dir). It lives here, beside
    the receipts that cause most refusals, because the messaging app's migrations are
    owned by the acceptance work. Refusals are rare, so a row update each costs nothing."""

    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    count = models.PositiveBigIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["from_status", "to_status"],
                                               name="one_refused_transition_row")]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}: {self.count}"
