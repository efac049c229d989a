import pytest

from chappe.common.numbers import (
    InvalidNumber,
    dialled_e164,
    normalize,
    number_facts,
    written_forms,
)


@pytest.mark.parametrize(
    ("raw", "country", "e164", "region", "kind"),
    [
        ("06 12 34 56 78", "FR", "+33612345678", "FR", "mobile"),
        ("0612345678", "FR", "+33612345678", "FR", "mobile"),
        ("+33 6 12 34 56 78", "BE", "+33612345678", "FR", "mobile"),
        ("0033612345678", "DE", "+33612345678", "FR", "mobile"),
        ("01 42 68 53 00", "FR", "+33142685300", "FR", "fixed"),
        ("0470 12 34 56", "BE", "+32470123456", "BE", "mobile"),
        ("0696 12 34 56", "MQ", "+596696123456", "MQ", "mobile"),
    ],
)
def test_national_and_international_forms(raw, country, e164, region, kind):
    recipient = normalize(raw, default_country=country)
    assert (recipient.e164, recipient.country, recipient.number_type) == (e164, region, kind)


def test_operator_is_the_original_range_holder():
    assert normalize("+33612345678", default_country="FR").operator


@pytest.mark.parametrize(("raw", "code"), [("hello", "unparsable"), ("", "unparsable"),
                                           ("+33 6 12", "invalid"), ("0012", "unparsable"),
                                           ("06 12 34 56 7", "invalid")])
def test_bad_numbers_say_why(raw, code):
    with pytest.raises(InvalidNumber) as info:
        normalize(raw, default_country="FR")
    assert info.value.code == code


def test_request_uri_users_are_read_as_e164():
    def e164_of(user):
        return dialled_e164(user, default_country="FR")

    assert e164_of("+33189000077") == "+33189000077"
    assert e164_of("33189000077") == "+33189000077"
    assert e164_of("0033189000077") == "+33189000077"
    assert e164_of("0189000077") == "+33189000077"
    assert e164_of("service") == ""
    assert e164_of("1") == ""


def test_one_type_vocabulary_for_every_product():
    """A North American number is `fixed_or_mobile` for SMS and voice alike."""
    us = number_facts("+12015550123")
    assert us is not None
    assert us.number_type == "fixed_or_mobile"
    assert number_facts("+33612345678").number_type == "mobile"
    assert number_facts("0612345678") is None  # not stored in E.164
    assert number_facts("[erased]") is None


def test_written_forms_cover_what_carriers_and_people_write():
    assert written_forms("+33612345678") == ["+33612345678", "33612345678", "0033612345678",
                                             "0612345678"]


@pytest.mark.parametrize("raw", [
    "+33612345678", "+33142685300", "+33700000001", "+33100000000", "+3361234567",
    "+12125550123", "+14165550123", "+80012345678", "+882345678901", "+447911123456",
    "+447624123456", "+590690123456", "+262692123456", "+4915123456789", "+8613800138000",
])
def test_validity_and_operator_match_phonenumbers_own_checks(raw):
    """`normalize` matches a number's type once and derives validity and the carrier
    lookup from it: the answers must be phonenumbers' own."""
    import phonenumbers
    from phonenumbers import carrier

    parsed = phonenumbers.parse(raw)
    if not phonenumbers.is_valid_number(parsed):
        with pytest.raises(InvalidNumber):
            normalize(raw, default_country="FR")
        return
    facts = normalize(raw, default_country="FR")
    assert facts.operator == carrier.name_for_number(parsed, "en")
    assert facts.country == (phonenumbers.region_code_for_number(parsed) or "")
