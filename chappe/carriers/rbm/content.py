"""Our stored RCS content (`messaging.rcs.content`, already validated) said as an RBM
`AgentMessage.contentMessage`: text, media (`contentInfo`), a standalone rich card or a
carousel, and suggested replies and actions with their postback data.

The mapping is total over our content types and suggestion kinds; a key RBM has no use
for (an empty title) is left out rather than sent empty.
"""

from typing import Any

HEIGHT = {"short": "SHORT", "medium": "MEDIUM", "tall": "TALL"}


def _action(suggestion: dict[str, Any]) -> dict[str, Any]:
    kind = suggestion["type"]
    if kind == "open_url":
        return {"openUrlAction": {"url": suggestion["url"]}}
    if kind == "dial":
        return {"dialAction": {"phoneNumber": suggestion["phone_number"]}}
    if kind == "calendar_event":
        return {"createCalendarEventAction": {
            "title": suggestion["title"], "description": suggestion.get("description", ""),
            "startTime": suggestion["start_time"], "endTime": suggestion["end_time"]}}
    if kind == "show_location":
        return {"viewLocationAction": {
            "latLong": {"latitude": suggestion["latitude"],
                        "longitude": suggestion["longitude"]},
            "label": suggestion.get("label", "")}}
    return {"shareLocationAction": {}}  # request_location


def rbm_suggestion(suggestion: dict[str, Any]) -> dict[str, Any]:
    common = {"text": suggestion["text"], "postbackData": suggestion.get("postback_data", "")}
    if suggestion["type"] == "reply":
        return {"reply": common}
    return {"action": {**common, **_action(suggestion)}}


def _media(media: dict[str, Any]) -> dict[str, Any]:
    return {"height": HEIGHT[media.get("height", "medium")],
            "contentInfo": {"fileUrl": media["file_url"]}}


def _card_content(card: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {key: card[key] for key in ("title", "description") if card.get(key)}
    if card.get("media"):
        out["media"] = _media(card["media"])
    if card.get("suggestions"):
        out["suggestions"] = [rbm_suggestion(s) for s in card["suggestions"]]
    return out


def rbm_content(content: dict[str, Any]) -> dict[str, Any]:
    """The `contentMessage` of an RBM agent message for our stored `content`."""
    kind = content["type"]
    if kind == "text":
        message: dict[str, Any] = {"text": content["text"]}
    elif kind == "media":
        message = {"contentInfo": {"fileUrl": content["media"]["file_url"]}}
    elif kind == "card":
        message = {"richCard": {"standaloneCard": {
            "cardOrientation": content.get("orientation", "vertical").upper(),
            "thumbnailImageAlignment": content.get("image_alignment", "left").upper(),
            "cardContent": _card_content(content["card"])}}}
    else:
        message = {"richCard": {"carouselCard": {
            "cardWidth": content.get("card_width", "medium").upper(),
            "cardContents": [_card_content(card) for card in content["cards"]]}}}
    if content.get("suggestions"):
        message["suggestions"] = [rbm_suggestion(s) for s in content["suggestions"]]
    return message
