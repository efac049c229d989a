"""Custom field values are validated by type, and one function cleans a contact for the
API, the web forms and every import row (pure)."""

from datetime import date, datetime

import pytest

from chappe.contacts.fields import (
    FieldSpec,
    FieldValueError,
    clean_contact,
    coerce_custom,
    text_of,
    validate_key,
)

NUMBER = FieldSpec("points", "number")
DATE = FieldSpec("birthday", "date")
CHOICE = FieldSpec("tier", "choice", ("Gold", "Silver"))
TEXT = FieldSpec("note", "text")
SPECS = {s.key: s for s in (NUMBER, DATE, CHOICE, TEXT)}


@pytest.mark.parametrize(("raw", "stored"), [
    ("12", 12), ("12.5", 12.5), ("12,5", 12.5), ("1 234,5", 1234.5), ("-3", -3), (7, 7),
    (2.0, 2), ("1\u00a0000", 1000), ("  ", None), (None, None),
])
def test_numbers(raw, stored):
    assert coerce_custom(NUMBER, raw) == stored


@pytest.mark.parametrize("raw", ["abc", "1.2.3", "NaN", "inf", True, "12 €"])
def test_bad_numbers(raw):
    with pytest.raises(FieldValueError) as caught:
        coerce_custom(NUMBER, raw)
    assert caught.value.code == "invalid_number"


@pytest.mark.parametrize(("raw", "stored"), [
    ("2024-03-01", "2024-03-01"), ("01/03/2024", "2024-03-01"), ("1.3.2024", "2024-03-01"),
    ("01-03-2024", "2024-03-01"), (date(2024, 3, 1), "2024-03-01"),
    (datetime(2024, 3, 1, 0, 0), "2024-03-01"), ("2024-03-01T00:00:00", "2024-03-01"),
])
def test_dates(raw, stored):
    assert coerce_custom(DATE, raw) == stored


@pytest.mark.parametrize("raw", ["31/02/2024", "tomorrow", "2024-13-01", "03/2024"])
def test_bad_dates(raw):
    with pytest.raises(FieldValueError) as caught:
        coerce_custom(DATE, raw)
    assert caught.value.code == "invalid_date"


def test_choices_match_whatever_the_case_and_store_the_defined_spelling():
    assert coerce_custom(CHOICE, "gold") == "Gold"
    assert coerce_custom(CHOICE, " SILVER ") == "Silver"
    with pytest.raises(FieldValueError) as caught:
        coerce_custom(CHOICE, "Bronze")
    assert caught.value.code == "invalid_choice"


def test_text_is_limited():
    assert coerce_custom(TEXT, " hi ") == "hi"
    with pytest.raises(FieldValueError):
        coerce_custom(TEXT, "x" * 501)


def test_text_of_spreadsheet_cells():
    assert text_of(612345678.0) == "612345678"
    assert text_of(33612345678) == "33612345678"
    assert text_of(datetime(2024, 3, 1)) == "2024-03-01"
    assert text_of(None) == ""


@pytest.mark.parametrize(("key", "ok"), [
    ("loyalty_level", True), ("a1", True), ("Tier", False), ("1st", False), ("mobile", False),
    ("first_name", False), ("x" * 41, False), ("with-dash", False), ("", False),
])
def test_custom_field_keys(key, ok):
    assert (validate_key(key) is None) == ok


def test_clean_contact_normalises_and_collects_every_error():
    cleaned = clean_contact(
        {"mobile": "06 12 34 56 78", "email": "not-an-email", "phone": "01 23 45 67 89",
         "first_name": "Zoé"},
        custom={"points": "x", "tier": "gold", "nope": "1"}, specs=SPECS, default_country="FR")
    assert cleaned.values["mobile"] == "+33612345678"
    assert cleaned.values["phone"] == "+33123456789"
    assert cleaned.values["first_name"] == "Zoé"
    assert set(cleaned.errors) == {"email", "custom.points", "custom.nope"}
    assert cleaned.codes == {"email": "invalid_email", "custom.points": "invalid_number",
                             "custom.nope": "unknown_field"}
    assert cleaned.custom == {"tier": "Gold"}


@pytest.mark.parametrize(("raw", "code"), [("", "required"), ("hello", "invalid_number"),
                                           ("0612", "invalid_number"),
                                           ("+33 1 23", "invalid_number")])
def test_mobile_is_required_and_valid(raw, code):
    cleaned = clean_contact({"mobile": raw}, specs={}, default_country="FR")
    assert cleaned.codes["mobile"] == code


def test_another_phone_that_is_not_a_number_is_kept_as_typed():
    cleaned = clean_contact({"mobile": "+32470123456", "phone": "ext. 42"}, specs={},
                            default_country="FR")
    assert cleaned.ok
    assert cleaned.values == {"mobile": "+32470123456", "phone": "ext. 42"}
