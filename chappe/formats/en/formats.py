"""English as written in Europe, where Chappe's clients are: day before month
("7 Dec 2026", "07/12/2026"), a 24-hour clock, Monday first — not US style
("Dec. 7, 2026", "12/07/2026"), which a French client reading English would misread."""

from django.conf.locale.en_GB.formats import *  # noqa: F403 (a whole format module)

TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
FIRST_DAY_OF_WEEK = 1
