from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.carriers.simulator.models import SimulatorInbound, SimulatorMessage
from chappe.carriers.smpp.models import SmppBindState, SmppInbox, SmppPart

# Each connector type keeps its tables in its own folder; the app sees them from here.
__all__ = ["Connector", "Route", "SimulatorInbound", "SimulatorMessage", "SmppBindState",
           "SmppInbox", "SmppPart"]


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
