"""Content-Disposition for downloads: an ASCII fallback and the exact name."""

from __future__ import annotations

import pytest

from devflowfix.downloads import content_disposition


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        (
            "incidents_2026-12-03.csv",
            'attachment; filename="incidents_2026-12-03.csv"; '
            "filename*=UTF-8''incidents_2026-12-03.csv",
        ),
        (
            "Störungen März.pdf",
            'attachment; filename="Storungen Marz.pdf"; '
            "filename*=UTF-8''St%C3%B6rungen%20M%C3%A4rz.pdf",
        ),
        (
            'a"b\\c.csv',
            "attachment; filename=\"a_b_c.csv\"; filename*=UTF-8''a%22b%5Cc.csv",
        ),
        (
            "日本.csv",
            'attachment; filename="download.csv"; '
            "filename*=UTF-8''%E6%97%A5%E6%9C%AC.csv",
        ),
    ],
)
def test_content_disposition_has_an_ascii_and_a_utf8_name(
    filename: str, header: str
) -> None:
    assert content_disposition(filename) == header
