"""The add-in's own icons: three rising white bars on a rounded square in the reports' blue.

``python -m addin.icons`` writes the PNG files the manifest names (16, 32, 64
and 80 px, in ``xlwings_project/static/images/icons/``) and the favicon
(``xlwings_project/static/images/favicon.png``, which xlwings-server serves at
``/favicon.ico`` and the pages link). Standard library only (``zlib``,
``struct``); a test checks that the committed files are what this module draws.
Each pixel is the share of 8 × 8 sample points that fall inside a shape, so the
rounded corners are smooth at 16 px too.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

__all__ = ["BAR_COLOUR", "BLUE", "FAVICON", "ICON_DIR", "SIZES", "icon_pixels", "icon_png", "png", "write_icons"]

#: the reports' blue (workbook_templates.report_parts.BLUE, #2563EB) and the bars' white
BLUE = (0x25, 0x63, 0xEB)
BAR_COLOUR = (0xFF, 0xFF, 0xFF)
#: the sizes the manifest names: ribbon 16/32/80, IconUrl 32, HighResolutionIconUrl 64
SIZES = (16, 32, 64, 80)
ICON_DIR = Path(__file__).resolve().parent / "xlwings_project" / "static" / "images" / "icons"
FAVICON = ICON_DIR.parent / "favicon.png"
_SAMPLES = 8
#: the shapes in units of the icon's side: corner radius, then the bars as (left, top, right), bottom at _BASE;
#: the bars' edges are on a 16-step grid, so they are sharp at every size the manifest names
_RADIUS = 0.2
_BASE = 13 / 16
_BARS = ((3 / 16, 9 / 16, 5 / 16), (7 / 16, 6 / 16, 9 / 16), (11 / 16, 3 / 16, 13 / 16))


def _in_rounded_square(x: float, y: float) -> bool:
    cx = min(max(x, _RADIUS), 1 - _RADIUS)
    cy = min(max(y, _RADIUS), 1 - _RADIUS)
    return (x - cx) ** 2 + (y - cy) ** 2 <= _RADIUS**2


def _in_bar(x: float, y: float) -> bool:
    return any(left <= x <= right and top <= y <= _BASE for left, top, right in _BARS)


def icon_pixels(size: int) -> list[list[tuple[int, int, int, int]]]:
    """The icon of ``size`` × ``size`` pixels as rows of RGBA tuples."""
    if not isinstance(size, int) or not 8 <= size <= 512:
        raise ValueError(f"icon size: {size!r} is not a whole number of pixels from 8 to 512")
    n = _SAMPLES
    rows = []
    for py in range(size):
        row = []
        for px in range(size):
            inside = bar = 0
            for sy in range(n):
                y = (py + (sy + 0.5) / n) / size
                for sx in range(n):
                    x = (px + (sx + 0.5) / n) / size
                    if _in_rounded_square(x, y):
                        inside += 1
                        bar += _in_bar(x, y)
            if inside == 0:
                row.append((0, 0, 0, 0))
                continue
            share = bar / inside  # of the square's coverage, how much is bar
            r, g, b = (round(blue + (white - blue) * share) for blue, white in zip(BLUE, BAR_COLOUR))
            row.append((r, g, b, round(255 * inside / (n * n))))
        rows.append(row)
    return rows


def png(rows: list[list[tuple[int, int, int, int]]]) -> bytes:
    """An 8-bit RGBA PNG of the rows (every scanline with filter 0, none)."""
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def icon_png(size: int) -> bytes:
    """The icon of ``size`` px as PNG bytes."""
    return png(icon_pixels(size))


def write_icons() -> list[Path]:
    """Write ``kpi-<size>.png`` for every size the manifest names, and the favicon (32 px)."""
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for size in SIZES:
        path = ICON_DIR / f"kpi-{size}.png"
        path.write_bytes(icon_png(size))
        written.append(path)
    FAVICON.write_bytes(icon_png(32))
    written.append(FAVICON)
    return written


if __name__ == "__main__":  # pragma: no cover
    for p in write_icons():
        sys.stdout.write(f"wrote {p}\n")
