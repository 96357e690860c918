"""What a spreadsheet must not run: the formula-injection rule for CSV cells."""

from __future__ import annotations

# A spreadsheet runs a cell that starts with one of these as a formula (or, for
# tab and carriage return, strips them and then does); a leading apostrophe
# makes it plain text, which is what OWASP's CSV injection advice recommends.
FORMULA_STARTS = frozenset("=+-@\t\r")
# Tags cannot hold spaces, so one space between them keeps the cell readable.
TAG_SEPARATOR = " "


def neutralise(value: str | None) -> str:
    """The cell for user text: empty for none, apostrophe before a formula start."""
    if not value:
        return ""
    if value[0] in FORMULA_STARTS:
        return "'" + value
    return value
