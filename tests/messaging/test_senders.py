import pytest

from chappe.messaging.senders import (
    DEFAULT_RULE,
    FRANCE,
    Protection,
    SenderAction,
    SenderRule,
    check_sender,
    protection_key,
)

PROTECTED = {
    protection_key("AMELI"): Protection.FORBIDDEN,
    protection_key("LaPoste"): Protection.AUTHORISATION_REQUIRED,
}
STRICT_FR = SenderRule(adapt=False)
FR_WITH_FALLBACK = SenderRule(fallback_sender="36034")


@pytest.mark.parametrize(
    ("requested", "rule", "action", "sender", "reason"),
    [
        ("Chappe", FRANCE, SenderAction.ACCEPT, "Chappe", ""),
        ("Shop2026", FRANCE, SenderAction.ACCEPT, "Shop2026", ""),
        ("ABCDEFGHIJK", FRANCE, SenderAction.ACCEPT, "ABCDEFGHIJK", ""),  # 11 chars
        ("36034", FRANCE, SenderAction.ACCEPT, "36034", ""),
        ("38123", FRANCE, SenderAction.ACCEPT, "38123", ""),
        ("29999", FRANCE, SenderAction.REJECT, None, "all_digits"),  # short codes start 3-8
        ("0612345678", FRANCE, SenderAction.REJECT, None, "all_digits"),
        ("0612345678", FR_WITH_FALLBACK, SenderAction.OVERRIDE, "36034", "all_digits"),
        ("ABCDEFGHIJKL", FRANCE, SenderAction.ADAPT, "ABCDEFGHIJK", "too_long"),
        ("My Shop", FRANCE, SenderAction.ADAPT, "MyShop", "invalid_characters"),
        ("Café-Bar", FRANCE, SenderAction.ADAPT, "CafeBar", "invalid_characters"),
        ("My Shop", STRICT_FR, SenderAction.REJECT, None, "invalid_characters"),
        ("My Shop", SenderRule(adapt=False, fallback_sender="36034"), SenderAction.OVERRIDE,
         "36034", "invalid_characters"),
        ("--", FRANCE, SenderAction.REJECT, None, "invalid_characters"),
        ("", FRANCE, SenderAction.REJECT, None, "empty"),
        ("", FR_WITH_FALLBACK, SenderAction.OVERRIDE, "36034", "empty"),
        ("12345678901", DEFAULT_RULE, SenderAction.ACCEPT, "12345678901", ""),
        ("Brand", SenderRule(alphanumeric_allowed=False, fallback_sender="12025550100"),
         SenderAction.OVERRIDE, "12025550100", "alphanumeric_not_supported"),
    ],
)
def test_sender_rule_matrix(requested, rule, action, sender, reason):
    decision = check_sender(requested, rule=rule)
    assert (decision.action, decision.sender, decision.reason) == (action, sender, reason)
    if reason:
        assert decision.message


@pytest.mark.parametrize("name", ["AMELI", "ameli", "A.M.E.L.I", "Ameli "])
def test_strictly_forbidden_names_are_rejected_in_any_spelling(name):
    decision = check_sender(name, rule=FR_WITH_FALLBACK, protected=PROTECTED,
                            authorised={"AMELI"})
    assert decision.action is SenderAction.REJECT
    assert decision.reason == "forbidden"


def test_isa_needs_an_authorisation_on_file():
    without = check_sender("LaPoste", rule=FRANCE, protected=PROTECTED)
    assert (without.action, without.reason) == (SenderAction.REJECT, "authorisation_required")
    with_auth = check_sender("LaPoste", rule=FRANCE, protected=PROTECTED, authorised={"LAPOSTE"})
    assert (with_auth.action, with_auth.sender) == (SenderAction.ACCEPT, "LaPoste")


def test_isa_is_not_bypassed_by_punctuation():
    decision = check_sender("La Poste", rule=FRANCE, protected=PROTECTED)
    assert decision.reason == "authorisation_required"


def test_registered_only_countries():
    rule = SenderRule(registered_only=True)
    assert check_sender("Brand", rule=rule, registered={"Brand"}).action is SenderAction.ACCEPT
    refused = check_sender("Other", rule=rule, registered={"Brand"})
    assert (refused.action, refused.reason) == (SenderAction.REJECT, "not_registered")
