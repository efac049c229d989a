import pytest

from chappe.messaging.numbers import InvalidNumber, normalize


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
