"""Headers of file downloads: an ASCII `filename` and a UTF-8 `filename*`."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._()\[\] +-]")


def content_disposition(filename: str) -> str:
    """`attachment` with a filename every client can read and the exact one.

    RFC 6266: old clients read `filename`, which must be plain ASCII; the
    others prefer `filename*` (RFC 8187), which carries the name in UTF-8.
    """
    decomposed = unicodedata.normalize("NFKD", filename)
    fallback = _UNSAFE_ASCII.sub("_", decomposed.encode("ascii", "ignore").decode())
    fallback = fallback.strip(" ")
    if not fallback.strip("._"):
        fallback = "download"
    elif fallback.startswith("."):
        fallback = "download" + fallback
    encoded = quote(filename, safe="")

    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
