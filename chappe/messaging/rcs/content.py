"""What an RCS message carries, validated at the schema layer against the limits of the
reference (`../shared/reference/messaging.md` §2 and §5):

* `text` — a text up to 3,072 characters (RBM's text limit);
* `media` — one file by https URL, with its display height;
* `card` — a rich card: media, title, description (at least one of the three), up to
  **4** suggestions, vertical or horizontal;
* `carousel` — **2 to 10** vertical cards of the same width.

Each of them may end with suggested replies and actions (message level: up to 11):
reply, open URL, dial, calendar event, show location, request location — each with a
label of up to 25 characters and the postback data returned when it is tapped.

The per-card suggestion count and label length are the commonly cited figures, marked
UNVERIFIED in the reference; they are constants here so a change is one line.
"""

from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    model_validator,
)

MAX_TEXT = 3072
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_LABEL = 25
MAX_POSTBACK = 2048
MAX_CARD_SUGGESTIONS = 4
MAX_MESSAGE_SUGGESTIONS = 11
MIN_CARDS, MAX_CARDS = 2, 10


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SuggestionBase(_Strict):
    text: str = Field(min_length=1, max_length=MAX_LABEL)
    postback_data: str = Field("", max_length=MAX_POSTBACK)


class Reply(_SuggestionBase):
    type: Literal["reply"]


class OpenUrl(_SuggestionBase):
    type: Literal["open_url"]
    url: HttpUrl


class Dial(_SuggestionBase):
    type: Literal["dial"]
    phone_number: str = Field(pattern=r"^\+[1-9]\d{6,14}$")


class CalendarEvent(_SuggestionBase):
    type: Literal["calendar_event"]
    title: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=500)
    start_time: AwareDatetime
    end_time: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> "CalendarEvent":
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class ShowLocation(_SuggestionBase):
    type: Literal["show_location"]
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    label: str = Field("", max_length=100)


class RequestLocation(_SuggestionBase):
    type: Literal["request_location"]


Suggestion = Annotated[Reply | OpenUrl | Dial | CalendarEvent | ShowLocation | RequestLocation,
                       Field(discriminator="type")]


class Media(_Strict):
    file_url: HttpUrl
    height: Literal["short", "medium", "tall"] = "medium"


class Card(_Strict):
    media: Media | None = None
    title: str = Field("", max_length=MAX_TITLE)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    suggestions: list[Suggestion] = Field(default_factory=list,
                                          max_length=MAX_CARD_SUGGESTIONS)

    @model_validator(mode="after")
    def _something(self) -> "Card":
        if self.media is None and not self.title and not self.description:
            raise ValueError("a card needs media, a title or a description")
        return self


class _Content(_Strict):
    suggestions: list[Suggestion] = Field(default_factory=list,
                                          max_length=MAX_MESSAGE_SUGGESTIONS)


class TextContent(_Content):
    type: Literal["text"]
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class MediaContent(_Content):
    type: Literal["media"]
    media: Media


class CardContent(_Content):
    type: Literal["card"]
    card: Card
    orientation: Literal["vertical", "horizontal"] = "vertical"
    # Where a horizontal card shows its image.
    image_alignment: Literal["left", "right"] = "left"


class CarouselContent(_Content):
    type: Literal["carousel"]
    cards: list[Card] = Field(min_length=MIN_CARDS, max_length=MAX_CARDS)
    card_width: Literal["small", "medium"] = "medium"


RcsContent = Annotated[TextContent | MediaContent | CardContent | CarouselContent,
                       Field(discriminator="type")]
CONTENT = TypeAdapter(RcsContent)


def content_summary(content: TextContent | MediaContent | CardContent | CarouselContent) -> str:
    """A plain-text line of the content: the message's `text` in lists, exports and the
    inbox (the content itself is kept on the send)."""
    if isinstance(content, TextContent):
        return content.text
    if isinstance(content, MediaContent):
        return f"[media] {content.media.file_url}"
    cards = [content.card] if isinstance(content, CardContent) else content.cards
    titles = " | ".join(c.title or c.description[:40] or "[media]" for c in cards)
    return f"[{content.type}] {titles}"


def suggestion_of(content: dict, postback_data: str) -> dict | None:
    """The suggestion of stored `content` whose postback data is `postback_data` (a tap
    reported by the carrier), or None."""
    cards = content.get("cards") or ([content["card"]] if content.get("card") else [])
    for suggestion in [*content.get("suggestions", []),
                       *(s for card in cards for s in card.get("suggestions", []))]:
        if suggestion.get("postback_data") == postback_data:
            return suggestion
    return None

