"""The agent's logo and banner, checked against the formats and sizes RCS suppliers take
(RBM: a 224x224 logo up to 50 KB, a 1440x448 banner up to 200 KB, JPEG or PNG). Read with
Pillow, so a file that only claims to be an image is refused."""

import io
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

FORMATS = frozenset({"PNG", "JPEG"})


@dataclass(frozen=True)
class AssetRule:
    width: int
    height: int
    max_bytes: int


LOGO = AssetRule(width=224, height=224, max_bytes=50 * 1024)
BANNER = AssetRule(width=1440, height=448, max_bytes=200 * 1024)


def asset_problem(data: bytes, rule: AssetRule) -> str | None:
    """Why `data` cannot be used under `rule`, in a sentence; None when it can."""
    if len(data) > rule.max_bytes:
        return _("At most %(kb)d KB.") % {"kb": rule.max_bytes // 1024}
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, size = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return _("Not a PNG or JPEG image.")
    if image_format not in FORMATS:
        return _("Not a PNG or JPEG image.")
    if size != (rule.width, rule.height):
        return _("Must be %(w)dx%(h)d pixels (this one is %(gw)dx%(gh)d).") % {
            "w": rule.width, "h": rule.height, "gw": size[0], "gh": size[1]}
    return None
