"""Opt-out keywords in replies (M-10): STOP and its usual variants (pure)."""

import re
import unicodedata

STOP_WORDS = frozenset({"STOP", "ARRET", "STOPSMS", "UNSUBSCRIBE", "DESABONNER",
                        "DESINSCRIPTION", "STOPALL", "END", "QUIT", "CANCEL"})


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z]", "", plain.upper())


def is_stop(text: str) -> bool:
    """True when a reply asks to opt out: the whole reply is a stop word, ignoring case,
    accents, spaces and punctuation ("Stop", "ARRÊT", "stop sms", "Stop !")."""
    return _fold(text) in STOP_WORDS
