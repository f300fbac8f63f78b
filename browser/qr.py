"""Decode QR codes from an in-memory PNG screenshot with zxing-cpp."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

__all__ = ["decode_qr_texts"]


def decode_qr_texts(png: bytes) -> list[str]:
    """Return the text of every QR code in a PNG image.

    Args:
        png: The PNG bytes (e.g. a Playwright screenshot); never written to disk.

    Returns:
        The decoded texts, in zxing's order; empty when there is no readable QR code.
    """
    with Image.open(io.BytesIO(png)) as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    return [result.text for result in results if result.valid and result.text]
