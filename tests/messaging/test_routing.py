from chappe.carriers.routing import RouteRule, choose_connector

RULES = [
    RouteRule(connector="default"),
    RouteRule(connector="france", country="FR", fallback="france-backup"),
    RouteRule(connector="free", prefix="33695", priority=10),
    RouteRule(connector="cheap-fr", country="FR", priority=50),
]


def test_most_specific_rule_wins():
    assert choose_connector("+33695123456", "FR", RULES) == "free"
    assert choose_connector("+33612345678", "FR", RULES) == "cheap-fr"  # priority among FR
    assert choose_connector("+32470123456", "BE", RULES) == "default"


def test_fallback_then_next_rule_when_down():
    assert choose_connector("+33612345678", "FR", RULES, down={"cheap-fr"}) == "france"
    assert choose_connector("+33612345678", "FR", RULES,
                            down={"cheap-fr", "france"}) == "france-backup"
    assert choose_connector("+33612345678", "FR", RULES,
                            down={"cheap-fr", "france", "france-backup"}) == "default"


def test_no_route():
    assert choose_connector("+33612345678", "FR", [], ()) is None
    assert choose_connector("+32470123456", "BE", [RouteRule(connector="fr", country="FR")]) is None
