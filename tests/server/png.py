"""A small PNG reader for screenshot checks (8-bit grey/RGB/RGBA, not interlaced).

Enough to look at what a browser drew without an imaging library: decompress the IDAT
stream, undo the per-row filters, return an array of shape (height, width, channels).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def read_png(data: bytes) -> npt.NDArray[np.uint8]:
    """Decode ``data``; ValueError for anything but the supported PNG subset."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file")
    offset = len(SIGNATURE)
    header: tuple[int, ...] = ()
    idat = bytearray()
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    channels = _CHANNELS[colour]
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(bytes(idat)), dtype=np.uint8)
    rows = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        above = out[y - 1] if y else np.zeros(stride, dtype=np.int32)
        if kind == 0:
            out[y] = line
        elif kind == 1:
            out[y] = _sub(line, channels)
        elif kind == 2:
            out[y] = (line + above) & 0xFF
        elif kind == 3:
            out[y] = _average(line, above, channels)
        elif kind == 4:
            out[y] = _paeth(line, above, channels)
        else:
            raise ValueError(f"unknown PNG filter {kind}")
    return out.astype(np.uint8).reshape(height, width, channels)


def _sub(line: npt.NDArray[np.int32], bpp: int) -> npt.NDArray[np.int32]:
    result = line.copy()
    for x in range(bpp, len(result)):
        result[x] = (result[x] + result[x - bpp]) & 0xFF
    return result


def _average(
    line: npt.NDArray[np.int32], above: npt.NDArray[np.int32], bpp: int
) -> npt.NDArray[np.int32]:
    result = line.copy()
    for x in range(len(result)):
        left = result[x - bpp] if x >= bpp else 0
        result[x] = (result[x] + ((left + above[x]) >> 1)) & 0xFF
    return result


def _paeth(
    line: npt.NDArray[np.int32], above: npt.NDArray[np.int32], bpp: int
) -> npt.NDArray[np.int32]:
    result = line.copy()
    for x in range(len(result)):
        a = result[x - bpp] if x >= bpp else 0
        b = above[x]
        c = above[x - bpp] if x >= bpp else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        result[x] = (result[x] + predictor) & 0xFF
    return result


def count_near(image: npt.NDArray[np.uint8], rgb: tuple[int, int, int], tolerance: int) -> int:
    """How many pixels are within ``tolerance`` of ``rgb`` on every channel."""
    colour = np.asarray(rgb, dtype=np.int32)
    pixels = image[..., :3].astype(np.int32)
    return int(np.all(np.abs(pixels - colour) <= tolerance, axis=-1).sum())
