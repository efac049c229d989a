"""RCS content at the limits of the reference: cards, carousels, suggestions."""

import pytest
from pydantic import ValidationError

from chappe.messaging.rcs.content import CONTENT, content_summary, suggestion_of


def card(n: int = 0, suggestions: int = 0) -> dict:
    return {"title": f"Card {n}", "description": "A shoe",
            "media": {"file_url": "https://cdn.example/shoe.png", "height": "medium"},
            "suggestions": [{"type": "reply", "text": f"Pick {i}", "postback_data": f"p{n}-{i}"}
                            for i in range(suggestions)]}


def test_every_suggestion_type_is_accepted():
    content = CONTENT.validate_python({"type": "text", "text": "Hello", "suggestions": [
        {"type": "reply", "text": "Yes", "postback_data": "yes"},
        {"type": "open_url", "text": "Site", "url": "https://acme.example"},
        {"type": "dial", "text": "Call", "phone_number": "+33140000000"},
        {"type": "calendar_event", "text": "Book", "title": "Visit",
         "start_time": "2027-01-05T10:00:00+01:00", "end_time": "2027-01-05T11:00:00+01:00"},
        {"type": "show_location", "text": "Shop", "latitude": 48.85, "longitude": 2.35},
        {"type": "request_location", "text": "Where are you?"}]})
    assert [s.type for s in content.suggestions] == [
        "reply", "open_url", "dial", "calendar_event", "show_location", "request_location"]


def test_a_single_card_and_a_ten_card_carousel_are_accepted():
    one = CONTENT.validate_python({"type": "card", "card": card(suggestions=4),
                                   "orientation": "horizontal"})
    ten = CONTENT.validate_python({"type": "carousel", "cards": [card(i) for i in range(10)]})
    assert len(one.card.suggestions) == 4
    assert len(ten.cards) == 10
    assert content_summary(ten).startswith("[carousel] Card 0 | Card 1")


@pytest.mark.parametrize("content", [
    {"type": "carousel", "cards": [card(i) for i in range(11)]},
    {"type": "carousel", "cards": [card()]},
    {"type": "card", "card": card(suggestions=5)},
    {"type": "card", "card": {"suggestions": []}},
    {"type": "text", "text": "x", "suggestions": [{"type": "reply", "text": "x" * 26}]},
    {"type": "text", "text": "x", "suggestions": [{"type": "teleport", "text": "Go"}]},
    {"type": "text", "text": "x", "suggestions": [
        {"type": "calendar_event", "text": "Book", "title": "Visit",
         "start_time": "2027-01-05T10:00:00+01:00", "end_time": "2027-01-05T09:00:00+01:00"}]},
    {"type": "media", "media": {"file_url": "not a url"}},
    {"type": "text", "text": ""},
])
def test_content_beyond_the_limits_is_refused(content):
    with pytest.raises(ValidationError):
        CONTENT.validate_python(content)


def test_a_tap_is_found_by_its_postback_data():
    content = CONTENT.validate_python(
        {"type": "carousel", "cards": [card(0, 2), card(1, 2)]}).model_dump(mode="json")
    assert suggestion_of(content, "p1-1")["text"] == "Pick 1"
    assert suggestion_of(content, "nope") is None
