"""A whole chunk of CSV fields quoted and neutralised in a few passes.

`csv_sqlite` joins a chunk's fields with control characters: `USER_FIELD`
before a cell of user text, `FIELD` before any other cell, `ROW_END` after a
row, and `SET_ASIDE` as the only field of a row whose line comes from
elsewhere. `quote_chunk` turns that text into CSV lines with the reference
writer's bytes: an apostrophe in front of user text that starts a formula
(`cells.neutralise`), every field holding a comma, a double quote, CR or LF
quoted with its inner quotes doubled (stdlib csv's minimal quoting), commas
between the fields and CRLF after each row.

Each pass runs over the chunk's UTF-8 bytes at C speed (`bytes.translate`,
`find`, `join`); Python runs only once per field that needs quoting and once
per formula start. The separators are ASCII, so no byte of a multi-byte
character can be taken for one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from devflowfix.exports.cells import FORMULA_STARTS

FIELD = "\x1f"
USER_FIELD = "\x1d"
ROW_END = "\x1e"
SET_ASIDE = "\x1c"
SEPARATORS = FIELD + USER_FIELD + ROW_END + SET_ASIDE
# The incident CSV's 25 fields: 24 separators between them, one after.
SEPARATORS_PER_ROW = 25
SEPARATORS_PER_SET_ASIDE = len(SET_ASIDE + ROW_END)

_SPECIAL = 0x01
_BOUNDARY = ord(FIELD)


def _table(marks: dict[int, int]) -> bytes:
    table = bytearray(range(256))
    for byte, mark in marks.items():
        table[byte] = mark
    return bytes(table)


# The chunk with every separator as `FIELD` and every character that makes
# csv quote a field as `_SPECIAL` (a stored 0x01 becomes 0x00, so that it
# cannot pass for one): where fields start and end, and which need quotes.
_BOUNDARIES = _table(
    {
        _SPECIAL: 0x00,
        **{ord(char): _BOUNDARY for char in SEPARATORS},
        **{ord(char): _SPECIAL for char in ',"\r\n'},
    }
)
# User text that starts a formula.
_FORMULA_START = re.compile(
    re.escape(USER_FIELD.encode())
    + b"["
    + re.escape("".join(sorted(FORMULA_STARTS)).encode())
    + b"]"
)
_COMMAS = _table({ord(FIELD): ord(","), ord(USER_FIELD): ord(",")})
_SEPARATOR = re.compile(f"[{SEPARATORS}]")


def quote_chunk(text: str, separators: int) -> bytes | None:
    """The CSV lines of the joined fields in `text`, as UTF-8.

    `separators` is how many the rows' fields need; None when `text` holds
    more, that is when some value holds a separator character.
    """
    data = text.encode("utf-8")
    # The apostrophe goes between the separator and the formula start.
    starts = [found.start() + 1 for found in _FORMULA_START.finditer(data)]
    if starts:
        data = b"'".join(_pieces(data, starts))
    # Only fields that get quotes hold a double quote: doubling them all is
    # csv's doubling inside quotes.
    data = data.replace(b'"', b'""')
    bounds = data.translate(_BOUNDARIES)
    if bounds.count(_BOUNDARY) != separators:
        return None

    cuts = []
    find = bounds.find
    rfind = bounds.rfind
    special = find(_SPECIAL)
    while special >= 0:
        start = rfind(_BOUNDARY, 0, special) + 1
        end = find(_BOUNDARY, special)
        cuts.append(start)
        cuts.append(end)
        special = find(_SPECIAL, end)
    if cuts:
        data = b'"'.join(_pieces(data, cuts))

    return data.translate(_COMMAS).replace(ROW_END.encode(), b"\r\n")


def holds_only_own_separators(text: str) -> bool:
    """Whether a row's joined fields hold no separator character of their own."""
    return len(_SEPARATOR.findall(text)) == SEPARATORS_PER_ROW


def _pieces(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    """`data` cut at the ascending positions `cuts`."""
    return map(data.__getitem__, map(slice, [0, *cuts], [*cuts, None]))
