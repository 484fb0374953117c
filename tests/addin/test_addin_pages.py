"""The backend's pages for people over real HTTP (a `kpi serve` subprocess): the start page at `/`,
the function reference, and that every link on them answers."""

from __future__ import annotations

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
