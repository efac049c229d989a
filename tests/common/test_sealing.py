"""Sealed secrets (Twilio auth tokens that sign callbacks): read back under the same key,
refused when tampered with or sealed under another SECRET_KEY."""

import pytest

from chappe.common.sealing import SealBroken, seal, unseal

TOKEN = "chp_0123456789ab_" + "s" * 43


def test_a_seal_opens_to_its_secret_and_two_seals_differ():
    first, second = seal(TOKEN), seal(TOKEN)
    assert first != second  # a fresh IV each time: equal secrets do not look equal
    assert unseal(first) == unseal(second) == TOKEN
    assert TOKEN not in first


def test_a_tampered_seal_or_another_key_is_refused(settings):
    sealed = seal(TOKEN)
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    with pytest.raises(SealBroken):
        unseal(flipped)
    with pytest.raises(SealBroken):
        unseal("not a seal")
    settings.SECRET_KEY = "another secret key, rotated"
    with pytest.raises(SealBroken):
        unseal(sealed)
