"""The backend's pages and files for people over real HTTP (a `kpi serve` subprocess): the start page at `/`,
the function reference, the manifest as XML, the add-in's own icons, and that every link on the pages answers."""

from __future__ import annotations

import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from addin_helpers import serving

import kpi_functions as k

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def server():
    yield from serving()


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=120) as c:
        yield c


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, text)
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def links(html: str) -> dict[str, str]:
    parser = _Links()
    parser.feed(html)
    return {text: href for href, text in parser.links}


def test_the_start_page_links_the_manifest_the_task_pane_the_health_check_and_the_docs(server, client):
    r = client.get(server.base + "/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>KPI add-in backend</title>" in r.text
    assert f"{len(k.REGISTRY)} business-KPI functions" in r.text
    got = links(r.text)
    assert got["Add-in manifest"] == "/manifest.xml"
    assert got["download"] == "/manifest/download"
    assert got["Task pane"] == "/taskpane.html"
    assert got["Health check"] == "/health"
    assert got["Report templates"] == "/templates"
    assert got["Function reference"] == "/docs/functions.md"
    assert got["Installing the add-in"] == "#install" and 'id="install"' in r.text
    assert "Upload My Add-in" in r.text  # the sideloading steps are on the page
    assert "2 workbooks to download" in r.text  # the test server's templates folder holds two


def test_every_link_of_the_start_page_and_the_pane_answers(server, client):
    for page in ("/", "/taskpane.html"):
        for text, href in links(client.get(server.base + page).text).items():
            if href.startswith("#"):
                continue
            r = client.get(server.base + href)
            assert r.status_code == 200, f"{page}: the link {text!r} to {href} answers {r.status_code}"


def test_the_function_reference_is_the_one_generated_from_the_registry(server, client):
    r = client.get(server.base + "/docs/functions.md")
    assert r.status_code == 200 and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == (DOCS / "functions.md").read_text(encoding="utf-8")  # kept in sync with the registry
    assert client.get(server.base + "/docs/other.md").status_code == 404


@pytest.mark.parametrize("path", ["/manifest.xml", "/manifest", "/manifest/download"])
def test_the_manifest_is_served_as_xml(server, client, path):
    r = client.get(server.base + path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/xml; charset=utf-8"
    assert len(r.headers.get_list("content-type")) == 1
    root = ElementTree.fromstring(r.content)  # well-formed, in the declared encoding
    assert root.tag == "{http://schemas.microsoft.com/office/appforoffice/1.1}OfficeApp"
    if path == "/manifest/download":
        assert r.headers["content-disposition"] == "attachment; filename=kpi-functions-prod.xml"


# ------------------------------------------------------------------ icons
ICONS = Path(__file__).resolve().parents[2] / "addin" / "xlwings_project" / "static" / "images"
BLUE = (0x25, 0x63, 0xEB, 255)  # the reports' blue, #2563EB, opaque
WHITE = (255, 255, 255, 255)


def decode_png(data: bytes) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    """Width, height and RGBA rows of an 8-bit RGBA PNG whose scanlines are unfiltered (written here,
    independently of addin.icons)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert (depth, colour) == (8, 6)  # 8-bit RGBA
    raw = zlib.decompress(idat)
    stride = 1 + 4 * width
    rows = []
    for y in range(height):
        line = raw[y * stride:(y + 1) * stride]
        assert line[0] == 0
        rows.append([tuple(line[1 + 4 * x:5 + 4 * x]) for x in range(width)])
    return width, height, rows


def test_the_manifest_names_the_add_ins_own_icons_and_they_are_served(server, client):
    manifest = client.get(server.base + "/manifest.xml").text
    assert "xlwings-" not in manifest  # not xlwings' icons
    icon = server.base + "/static/images/icons/kpi-{}.png"
    assert f'<IconUrl DefaultValue="{icon.format(32)}" />' in manifest
    assert f'<HighResolutionIconUrl DefaultValue="{icon.format(64)}" />' in manifest
    for size in (16, 32, 80):
        assert f'<bt:Image id="Icon.{size}x{size}" DefaultValue="{icon.format(size)}" />' in manifest
    for size in (16, 32, 64, 80):
        r = client.get(icon.format(size))
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.content == (ICONS / "icons" / f"kpi-{size}.png").read_bytes()
        assert decode_png(r.content)[:2] == (size, size)
    fav = client.get(server.base + "/favicon.ico")
    assert fav.status_code == 200 and fav.content == (ICONS / "favicon.png").read_bytes()


def test_the_icons_are_white_rising_bars_on_a_rounded_blue_square():
    # the 80 px icon, in pixels: bars x 15-25, 35-45, 55-65 with tops 45, 30, 15 and bottom 65
    width, height, rows = decode_png((ICONS / "icons" / "kpi-80.png").read_bytes())
    assert (width, height) == (80, 80)
    assert rows[0][0][3] == 0 and rows[79][79][3] == 0  # rounded corners: transparent
    assert rows[40][5] == BLUE and rows[72][40] == BLUE  # the square's edge and below the bars
    assert rows[50][30] == BLUE and rows[20][40] == BLUE  # between the bars, above the middle one
    assert rows[60][20] == WHITE and rows[40][40] == WHITE and rows[20][60] == WHITE  # inside each bar
    assert rows[40][20] == BLUE  # above the shortest bar
    width, height, rows = decode_png((ICONS / "icons" / "kpi-16.png").read_bytes())
    assert (width, height) == (16, 16) and rows[4][11] == WHITE and rows[4][7] == BLUE and rows[14][8] == BLUE


def test_the_committed_icons_are_what_the_generator_draws():
    from addin import icons

    for size in icons.SIZES:
        assert (ICONS / "icons" / f"kpi-{size}.png").read_bytes() == icons.icon_png(size), \
            f"kpi-{size}.png is stale: run python -m addin.icons"
    assert (ICONS / "favicon.png").read_bytes() == icons.icon_png(32)
    with pytest.raises(ValueError, match=r"icon size: 4 is not a whole number of pixels from 8 to 512"):
        icons.icon_pixels(4)
