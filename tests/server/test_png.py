"""The screenshot reader decodes what zlib-compressed PNG rows hold, filters included."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from tests.server.png import SIGNATURE, count_near, read_png


def encode(image: np.ndarray, filters: list[int]) -> bytes:
    """An RGB PNG with the given filter type per row (encoder written for the test)."""
    height, width, _ = image.shape
    pixels = image.astype(np.int32).reshape(height, width * 3)
    rows = []
    for y, kind in enumerate(filters):
        line = pixels[y]
        above = pixels[y - 1] if y else np.zeros_like(line)
        left = np.concatenate([np.zeros(3, dtype=np.int32), line[:-3]])
        upper_left = np.concatenate([np.zeros(3, dtype=np.int32), above[:-3]])
        if kind == 0:
            encoded = line
        elif kind == 1:
            encoded = line - left
        elif kind == 2:
            encoded = line - above
        elif kind == 3:
            encoded = line - ((left + above) >> 1)
        else:
            p = left + above - upper_left
            pa, pb, pc = np.abs(p - left), np.abs(p - above), np.abs(p - upper_left)
            predictor = np.where(
                (pa <= pb) & (pa <= pc), left, np.where(pb <= pc, above, upper_left)
            )
            encoded = line - predictor
        rows.append(bytes([kind]) + (encoded & 0xFF).astype(np.uint8).tobytes())

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def test_every_filter_round_trips() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    decoded = read_png(encode(image, [0, 1, 2, 3, 4]))
    assert decoded.shape == (5, 7, 3)
    assert np.array_equal(decoded, image)


def test_count_near_and_refusals() -> None:
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    image[0, 0] = (248, 81, 73)
    image[1, 1] = (250, 80, 70)
    assert count_near(read_png(encode(image, [0, 0])), (248, 81, 73), 5) == 2
    with pytest.raises(ValueError, match="not a PNG"):
        read_png(b"GIF89a")
