"""Delivery receipts (pure): the SMPP 3.4 Appendix B text, the `message_state` TLV, and
message-id normalisation (hex or decimal, padded or not, as SMSCs differ).

A receipt is read from the TLVs `receipted_message_id` + `message_state` when present
(the id there is the submit_sm_resp id), else from the text
`id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…`. Final states map
onto the message lifecycle; ENROUTE/ACCEPTD are intermediate and change nothing.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

# message_state (SMPP 3.4 §5.3.2.35) → receipt text stat.
STATE_STAT = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV",
              6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}
STAT_STATE = {stat: state for state, stat in STATE_STAT.items()}
# stat → our receipt status (chappe.carriers.base.Receipt); None: not final.
STAT_STATUS = {"DELIVRD": "delivered", "UNDELIV": "undelivered", "EXPIRED": "expired",
               "REJECTD": "rejected", "DELETED": "undelivered", "UNKNOWN": "undelivered",
               "ENROUTE": None, "ACCEPTD": None}
STATUS_STAT = {"delivered": "DELIVRD", "undelivered": "UNDELIV", "expired": "EXPIRED",
               "rejected": "REJECTD"}
ID_FORMATS = ("string", "hex", "decimal")

_FIELD = re.compile(r"(?i)\b(id|sub|dlvrd|submit date|done date|stat|err|text):")


@dataclass(frozen=True)
class ParsedReceipt:
    id: str
    stat: str
    # delivered / undelivered / expired / rejected, or None for an intermediate state.
    status: str | None
    error: str = ""
    done_at: datetime | None = None


def parse_text(text: str) -> dict[str, str]:
    """The fields of a receipt text (keys lower-case); {} if it is not one."""
    matches = list(_FIELD.finditer(text))
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        key = match.group(1).lower()
        value = text[match.end():end]
        fields[key] = value if key == "text" else value.strip()
    return fields if "id" in fields and "stat" in fields else {}


def parse_date(value: str) -> datetime | None:
    """YYMMDDhhmm or YYMMDDhhmmss, taken as UTC."""
    for fmt, size in (("%y%m%d%H%M%S", 12), ("%y%m%d%H%M", 10)):
        if len(value) == size and value.isdigit():
            try:
                return datetime.strptime(value, fmt).replace(tzinfo=UTC)
            except ValueError:
                return None
    return None


def to_int(raw: str, fmt: str) -> int | None:
    raw = raw.strip()
    try:
        if fmt == "hex":
            return int(raw, 16)
        if fmt == "decimal":
            return int(raw, 10)
    except ValueError:
        return None
    return None


def normalize_id(raw: str, fmt: str, target: str | None = None) -> str:
    """`raw` read in `fmt`, written the canonical way for `target` (default: `fmt`):
    lower-case hex or decimal without leading zeros; "string" ids are kept as they are."""
    target = target or fmt
    number = to_int(raw, fmt)
    if number is None or target == "string":
        return raw.strip()
    return f"{number:x}" if target == "hex" else str(number)


def parse(*, text: str, receipted_id: str | None, state: int | None,
          message_id_format: str = "string", receipt_id_format: str | None = None,
          network_error: str = "") -> ParsedReceipt | None:
    fields = parse_text(text)
    receipt_fmt = receipt_id_format or message_id_format
    if receipted_id and state is not None:
        stat = STATE_STAT.get(state, "UNKNOWN")
        cid = normalize_id(receipted_id, message_id_format)
    elif fields:
        stat = fields["stat"].upper()
        cid = normalize_id(fields["id"], receipt_fmt, message_id_format)
    else:
        return None
    error = fields.get("err", "") or network_error
    if error and set(error) == {"0"}:
        error = ""
    return ParsedReceipt(id=cid, stat=stat, status=STAT_STATUS.get(stat, "undelivered"),
                         error=error, done_at=parse_date(fields.get("done date", "")))


def format_text(*, id: str, stat: str, err: str = "000", submitted: datetime,
                done: datetime, text: str = "", sub: str = "001", dlvrd: str | None = None
                ) -> str:
    dlvrd = dlvrd if dlvrd is not None else ("001" if stat == "DELIVRD" else "000")
    return (f"id:{id} sub:{sub} dlvrd:{dlvrd} submit date:{submitted:%y%m%d%H%M} "
            f"done date:{done:%y%m%d%H%M} stat:{stat} err:{err} text:{text[:20]}")
