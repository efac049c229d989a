"""Operator-skew check (M-9), pure."""

import pytest

from chappe.campaigns.skew import (
    SkewAction,
    SkewPolicy,
    UsualOperator,
    policy_from_config,
    skew_check,
)

MIX = {"FR": {"Orange France": UsualOperator(0.40, "20801"),
              "SFR": UsualOperator(0.25, "20810"),
              "Bouygues": UsualOperator(0.20, "20820"),
              "Free Mobile": UsualOperator(0.15, "20815")}}
POLICY = SkewPolicy(threshold=0.30, min_recipients=100, mix=MIX)


def test_an_audience_close_to_the_usual_mix_is_not_skewed():
    counts = {("FR", "Orange France"): 420, ("FR", "SFR"): 240, ("FR", "Bouygues"): 190,
              ("FR", "Free Mobile"): 150}
    assert skew_check(counts, POLICY) == []


def test_an_audience_concentrated_on_one_operator_is_skewed():
    counts = {("FR", "Free Mobile"): 900, ("FR", "Orange France"): 100}
    [skew] = skew_check(counts, POLICY)
    assert (skew.country, skew.operator, skew.code) == ("FR", "Free Mobile", "20815")
    assert (skew.recipients, skew.on_operator) == (1000, 900)
    assert skew.share == pytest.approx(0.90)
    assert skew.usual == pytest.approx(0.15)


def test_the_threshold_is_in_points_above_the_usual_share():
    # Orange usually 40 %: 70 % is exactly 30 points above (not more): not skewed; 71 % is.
    assert skew_check({("FR", "Orange France"): 70, ("FR", "SFR"): 30}, POLICY) == []
    assert len(skew_check({("FR", "Orange France"): 71, ("FR", "SFR"): 29}, POLICY)) == 1


def test_small_audiences_and_countries_without_a_mix_are_not_checked():
    assert skew_check({("FR", "Free Mobile"): 99}, POLICY) == []
    assert skew_check({("BE", "Proximus"): 10_000}, POLICY) == []


def test_an_operator_missing_from_the_mix_counts_as_usually_absent():
    [skew] = skew_check({("FR", "Transatel"): 350, ("FR", "Orange France"): 650}, POLICY)
    assert (skew.operator, skew.usual, skew.code) == ("Transatel", 0.0, "")


def test_unknown_operators_count_in_the_total_but_are_never_skewed():
    # 1000 recipients whose operator is unknown: the country is not concentrated.
    assert skew_check({("FR", ""): 1000}, POLICY) == []
    # They dilute the known ones: 300 Free out of 1300 is 23 %, 8 points above 15 %.
    assert skew_check({("FR", ""): 1000, ("FR", "Free Mobile"): 300}, POLICY) == []


def test_policy_from_the_operators_settings():
    policy = policy_from_config({"action": "price", "threshold": 0.2, "min_recipients": 10,
                                 "mix": {"fr": {"SFR": {"share": 0.3, "code": "20810"}}}})
    assert policy.action is SkewAction.PRICE
    assert policy.mix["FR"]["SFR"] == UsualOperator(0.3, "20810")
    assert policy.threshold == 0.2
    assert policy.min_recipients == 10
