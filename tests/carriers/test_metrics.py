"""The SMPP connector's live binds on /metrics, from the rows its engines refresh."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from chappe.carriers.models import SmppBindState


def test_binds_on_metrics(db):
    now = timezone.now()
    for slot, state in enumerate(["bound", "bound", "connecting"]):
        SmppBindState.objects.create(connector="carrier-a", process="gw:1", slot=slot,
                                     mode="trx", state=state, submitted=10, in_flight=2,
                                     updated_at=now)
    SmppBindState.objects.create(connector="carrier-b", process="gone:2", slot=0, mode="trx",
                                 state="bound", updated_at=now - timedelta(minutes=5))
    body = Client().get("/metrics").content.decode()
    assert 'chappe_smpp_binds{connector="carrier-a",state="bound"} 2.0' in body
    assert 'chappe_smpp_binds{connector="carrier-a",state="connecting"} 1.0' in body
    assert 'chappe_smpp_submitted_total{connector="carrier-a"} 30.0' in body
    assert 'chappe_smpp_in_flight{connector="carrier-a"} 6.0' in body
    assert "carrier-b" not in body  # a stale report (its gateway is gone)
    assert body.count("# TYPE chappe_smpp_binds gauge") == 1  # registered once
