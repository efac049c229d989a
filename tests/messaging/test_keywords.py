import pytest

from chappe.messaging.keywords import is_stop


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop ! ", "ARRÊT", "arret", "STOP SMS",
                                  "Stop-SMS", "unsubscribe", "Désabonner"])
def test_stop_variants(text):
    assert is_stop(text)


@pytest.mark.parametrize("text", ["", "Please don't stop", "STOPPED", "OK", "stop it now"])
def test_not_stop(text):
    assert not is_stop(text)
