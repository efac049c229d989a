"""Campaign drafts and what they would send: validation, the audience (lists, filters on
built-in and custom fields, pasted numbers), the preview per recipient and the estimate."""

import pytest

from chappe.campaigns.models import Campaign
from chappe.campaigns.selectors import (
    audience_contacts,
    campaign_audience,
    campaign_content,
    campaign_estimate,
    campaign_preview,
)
from chappe.campaigns.services import campaign_delete, campaign_update
from chappe.common.errors import Conflict, ValidationFailed
from chappe.contacts.models import OptOutSource
from chappe.contacts.services import contact_list_create, custom_field_create, opt_out_add
from tests.campaigns.conftest import fr_number


def _preview(campaign: Campaign, limit: int = 20):
    return campaign_preview(account=campaign.account, audience=campaign_audience(campaign),
                            content=campaign_content(campaign), limit=limit)


def _estimate(campaign: Campaign):
    return campaign_estimate(account=campaign.account, audience=campaign_audience(campaign),
                             content=campaign_content(campaign))


# --- validation -------------------------------------------------------------------------


def test_an_unknown_placeholder_is_a_clear_validation_error(make_campaign):
    with pytest.raises(ValidationFailed) as error:
        make_campaign(text="Bonjour {prenom}, -20 %")
    [message] = error.value.details["text"]
    assert "{prenom}" in message
    assert "{first_name}" in message


def test_custom_field_keys_are_placeholders(actor, make_campaign):
    custom_field_create(actor=actor, account=actor.account, key="points", label="Points",
                        type="number")
    campaign = make_campaign(text="Vous avez {points|0} points")
    assert campaign.text == "Vous avez {points|0} points"


def test_marketing_always_carries_the_stop_mention(make_campaign):
    with pytest.raises(ValidationFailed) as error:
        make_campaign(kind="marketing", stop_mention=False)
    assert "stop_mention" in error.value.details


def test_pasted_numbers_are_normalised_and_deduplicated_invalid_ones_refused(make_campaign):
    campaign = make_campaign(numbers=["06 12 34 56 78", "+33612345678", "0033 6 12 34 56 79"])
    assert campaign.numbers == ["+33612345678", "+33612345679"]
    with pytest.raises(ValidationFailed) as error:
        make_campaign(numbers=["06 12 34 56 78", "12", "abc"])
    assert "12, abc" in error.value.details["numbers"][0]


def test_filters_are_checked(actor, make_campaign):
    custom_field_create(actor=actor, account=actor.account, key="points", label="Points",
                        type="number")
    with pytest.raises(ValidationFailed) as error:
        make_campaign(filters=[{"field": "city", "op": "eq", "value": ""},
                               {"field": "custom:nope", "op": "eq", "value": "1"},
                               {"field": "custom:points", "op": "gte", "value": "many"},
                               {"field": "shoe_size", "op": "eq", "value": "42"},
                               {"field": "city", "op": "like", "value": "x"}])
    assert sorted(error.value.details) == ["filters.0", "filters.1", "filters.2", "filters.3",
                                           "filters.4"]
    campaign = make_campaign(filters=[{"field": "custom:points", "op": "gte", "value": "12,5"},
                                      {"field": "city", "op": "empty", "value": "ignored"}])
    assert campaign.filters == [{"field": "custom:points", "op": "gte", "value": 12.5},
                                {"field": "city", "op": "empty"}]


def test_only_drafts_change_or_go(actor, make_campaign):
    campaign = make_campaign()
    updated = campaign_update(actor=actor, campaign=campaign, values={"name": "Autre"})
    assert updated.name == "Autre"
    Campaign.objects.filter(pk=campaign.pk).update(status="running")
    with pytest.raises(Conflict):
        campaign_update(actor=actor, campaign=campaign, values={"name": "Encore"})
    with pytest.raises(Conflict):
        campaign_delete(actor=actor, campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status="draft")
    campaign_delete(actor=actor, campaign=campaign)
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


# --- audience ---------------------------------------------------------------------------


def test_audience_of_lists_each_contact_once(actor, make_contacts, make_campaign):
    vip = contact_list_create(actor=actor, account=actor.account, name="VIP")
    paris = contact_list_create(actor=actor, account=actor.account, name="Paris")
    in_both = make_contacts(3, contact_list=vip)
    for contact in in_both:
        contact.lists.add(paris)
    make_contacts(2, start=10, contact_list=paris)
    make_contacts(4, start=20)  # in no list
    campaign = make_campaign(lists=[vip, paris])
    contacts = audience_contacts(account=actor.account, audience=campaign_audience(campaign))
    assert contacts.count() == 5
    assert make_campaign(all_contacts=True).account == actor.account
    assert audience_contacts(account=actor.account, audience=campaign_audience(
        make_campaign(all_contacts=True))).count() == 9


def test_filters_on_built_in_and_custom_fields(actor, make_contacts, make_campaign):
    custom_field_create(actor=actor, account=actor.account, key="points", label="Points",
                        type="number")
    custom_field_create(actor=actor, account=actor.account, key="tier", label="Tier",
                        type="text")
    contacts = make_contacts(6)
    for contact, city, custom in zip(contacts, ["Paris", "paris", "Lyon", "", "Nantes", "Lyon"],
                                     [{"points": 5, "tier": "Gold"}, {"points": 50},
                                      {"points": 500, "tier": "gold"}, {}, {"tier": "Silver"},
                                      {"points": 12.5}], strict=True):
        contact.city, contact.custom = city, custom
        contact.save()

    def matching(*filters):
        campaign = make_campaign(filters=list(filters))
        return sorted(c.mobile for c in audience_contacts(
            account=actor.account, audience=campaign_audience(campaign)))

    numbers = [c.mobile for c in contacts]
    assert matching({"field": "city", "op": "eq", "value": "PARIS"}) == sorted(numbers[:2])
    assert matching({"field": "city", "op": "empty"}) == [numbers[3]]
    assert matching({"field": "city", "op": "contains", "value": "an"}) == [numbers[4]]
    assert matching({"field": "custom:points", "op": "gte", "value": "12,5"}) == sorted(
        [numbers[1], numbers[2], numbers[5]])
    assert matching({"field": "custom:points", "op": "lte", "value": "50"}) == sorted(
        [numbers[0], numbers[1], numbers[5]])
    assert matching({"field": "custom:tier", "op": "eq", "value": "GOLD"}) == sorted(
        [numbers[0], numbers[2]])
    assert matching({"field": "custom:tier", "op": "ne", "value": "gold"}) == sorted(
        [numbers[1], numbers[3], numbers[4], numbers[5]])
    assert matching({"field": "custom:tier", "op": "empty"}) == sorted(
        [numbers[1], numbers[3], numbers[5]])
    assert matching({"field": "city", "op": "eq", "value": "Lyon"},
                    {"field": "custom:points", "op": "not_empty"}) == sorted(
        [numbers[2], numbers[5]])


def test_another_accounts_lists_are_refused(actor, make_account, make_campaign):
    from chappe.accounts.actor import SYSTEM

    other = make_account("Other")
    theirs = contact_list_create(actor=SYSTEM.on(other), account=other, name="Theirs")
    with pytest.raises(ValidationFailed):
        make_campaign(lists=[theirs])


# --- preview and estimate -----------------------------------------------------------------


def test_personalization_with_missing_fields_and_one_name_switching_to_ucs2(
        actor, make_contacts, make_campaign):
    """Each recipient's own text: a missing first name takes the default, a missing
    custom value too; one name with a character outside GSM-7 (Ł) makes that recipient's
    message UCS-2 — and, at 70 characters per SMS, two SMS instead of one."""
    custom_field_create(actor=actor, account=actor.account, key="points", label="Points",
                        type="number")
    ada, nobody, lukasz = make_contacts(3)
    ada.first_name, ada.last_name, ada.custom = "Ada", "Martin", {"points": 120}
    nobody.first_name, nobody.last_name = "", "Bernard"
    lukasz.first_name, lukasz.last_name, lukasz.custom = "Łukasz", "Nowak", {"points": 7.0}
    for contact in (ada, nobody, lukasz):
        contact.save()
    campaign = make_campaign(kind="transactional", stop_mention=False,
                             text="Bonjour {first_name|client}, il vous reste {points|0} points "
                                  "de fidélité à utiliser avant la fin du mois.")
    rows = {row.number: row for row in _preview(campaign)}
    assert rows[ada.mobile].text == ("Bonjour Ada, il vous reste 120 points de fidélité à "
                                     "utiliser avant la fin du mois.")
    assert rows[nobody.mobile].text == ("Bonjour client, il vous reste 0 points de fidélité "
                                        "à utiliser avant la fin du mois.")
    assert rows[lukasz.mobile].text == ("Bonjour Łukasz, il vous reste 7 points de fidélité "
                                        "à utiliser avant la fin du mois.")
    assert rows[nobody.mobile].name == "Bernard"
    assert [(rows[c.mobile].encoding, rows[c.mobile].segments) for c in (ada, nobody, lukasz)] \
        == [("gsm7", 1), ("gsm7", 1), ("ucs2", 2)]
    # FR: 0.045 per SMS (tests/billing/conftest.py).
    assert [rows[c.mobile].price_micros for c in (ada, nobody, lukasz)] == [45_000, 45_000,
                                                                           90_000]
    estimate = _estimate(campaign)
    assert estimate.encodings == {"gsm7": 2, "ucs2": 1}
    assert estimate.ucs2_example == rows[lukasz.mobile].text
    assert (estimate.billable, estimate.segments, estimate.cost_micros) == (3, 4, 180_000)


def test_marketing_preview_ends_with_the_stop_mention(make_contacts, make_campaign, settings):
    make_contacts(1, first_names=["Zoé"])
    [row] = _preview(make_campaign(kind="marketing", text="Bonjour {first_name}!"))
    assert row.text == f"Bonjour Zoé!\n{settings.CHAPPE_STOP_MENTION}"


def test_estimate_counts_by_country_skips_the_red_list_and_compares_with_credit(
        actor, funded_account, make_contacts, make_campaign):
    contacts = make_contacts(10)
    opt_out_add(actor=actor, account=funded_account, number=contacts[0].mobile,
                source=OptOutSource.MANUAL)
    opt_out_add(actor=actor, account=funded_account, number="+32470000002",
                source=OptOutSource.MANUAL)
    campaign = make_campaign(
        kind="transactional", stop_mention=False, text="x" * 200,  # two GSM-7 SMS each
        numbers=["+32470000001", "+32470000002", contacts[1].mobile], all_contacts=True)
    estimate = _estimate(campaign)
    assert (estimate.contacts, estimate.pasted) == (10, 2)  # contacts[1] pasted is a contact
    assert estimate.opted_out == 2
    assert estimate.billable == 10
    by_country = {row.country: row for row in estimate.by_country}
    assert (by_country["FR"].recipients, by_country["FR"].segments) == (9, 18)
    assert (by_country["BE"].recipients, by_country["BE"].segments) == (1, 2)
    # FR 0.045, BE 0.07 per SMS.
    assert by_country["FR"].cost_micros == 18 * 45_000
    assert by_country["BE"].cost_micros == 2 * 70_000
    assert estimate.cost_micros == 18 * 45_000 + 2 * 70_000
    assert estimate.available_micros == 1000_000_000
    assert not estimate.short_of_credit
    assert not estimate.skews


def test_estimate_over_max_segments_and_short_of_credit(account, buy_credits, actor,
                                                        make_campaign):
    buy_credits(account, "1")
    campaign = make_campaign(kind="transactional", stop_mention=False, text="Court",
                             numbers=[fr_number(i) for i in range(30)], all_contacts=False)
    estimate = _estimate(campaign)
    assert estimate.cost_micros == 30 * 45_000
    assert estimate.available_micros == 1_000_000
    assert estimate.short_of_credit
    long_one = make_campaign(kind="transactional", stop_mention=False, text="x" * 200,
                             max_segments=1, numbers=[fr_number(1)], all_contacts=False)
    estimate = _estimate(long_one)
    assert (estimate.too_long, estimate.billable, estimate.cost_micros) == (1, 0, 0)


def test_estimate_without_a_price_names_the_country(make_campaign, price_list):
    from chappe.billing.models import Price

    Price.objects.filter(version__price_list=price_list, product="sms", country="").delete()
    estimate = _estimate(make_campaign(numbers=["+4915112345678"], all_contacts=False))
    assert estimate.unpriced == ["DE"]
