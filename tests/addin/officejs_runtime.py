"""Microsoft's Office.js runtime for the browser tests: the npm package
``@microsoft/office-js`` (pinned version and checksum), fetched with ``npm pack``
into ``.cache/office-js/`` (ignored by git, never committed) and served to
Chromium from the backend's own origin; the page's every other request that
leaves that origin is blocked and recorded.

Microsoft's licence for the package allows installing and using it to design,
develop and test add-ins (``LICENSE.md`` in the package).
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from addin_helpers import ROOT, _root_conftest

PACKAGE = "@microsoft/office-js"
VERSION = "1.1.110"
#: the registry's `dist.integrity` of that version (npm view @microsoft/office-js@1.1.110 dist.integrity)
INTEGRITY = "sha512-80nZ3gGUq6Fb22sX8tBdktfulM7uYnrdQu32bpsb3waTeKoakc+j6H6+L21xRV4plDBrufnRMVH3ULMt/06Jwg=="
CACHE = ROOT / ".cache" / "office-js"
#: the files the tests load (and their readable twins, read by the protocol checks)
FILES = ("office.js", "excel-win32-16.01.js", "custom-functions-runtime.js", "en-us/office_strings.js",
         "office.debug.js", "excel-win32-16.01.debug.js", "custom-functions-runtime.debug.js")
HOST_JS = Path(__file__).with_name("officejs_host.js")
#: Excel for Windows, version 16.01, en-US, flags 3 (OSF.HostInfoFlags: SharedApp | CustomFunction)
HOST_INFO = "Excel$Win32$16.01$en-US$$$$3"
#: where the task pane (xlwings-server's base.html) loads office.js from; served from the package instead
VENDORED_OFFICE_JS = re.compile(r"^/static/vendor/office-js/[^/]+/dist/(?P<file>[A-Za-z0-9_./-]+)$")


def _unavailable(msg: str) -> None:
    if _root_conftest().IN_CI:
        pytest.fail(msg + " — in CI the browser tests must run")
    pytest.skip(msg)


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def office_js_dist() -> Path:
    """The package's ``dist`` folder, fetched once (``npm pack``) and checked against the pinned checksum."""
    dist = CACHE / VERSION / "package" / "dist"
    if all((dist / f).is_file() for f in FILES):
        return dist
    npm = shutil.which("npm")
    if npm is None:
        _unavailable(f"needs npm to fetch {PACKAGE}@{VERSION} (Debian's nodejs/npm; installed by .ci/run)")
    CACHE.mkdir(parents=True, exist_ok=True)
    tgz = CACHE / f"microsoft-office-js-{VERSION}.tgz"
    if not tgz.is_file() or _integrity(tgz) != INTEGRITY:
        try:
            run = subprocess.run([str(npm), "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(CACHE)],
                                 capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            _unavailable(f"npm pack {PACKAGE}@{VERSION} took more than 300 s (is the npm registry reachable?)")
        if run.returncode != 0 or not tgz.is_file():
            _unavailable(f"npm pack {PACKAGE}@{VERSION} failed (is the npm registry reachable?):\n{run.stderr[-2000:]}")
    got = _integrity(tgz)
    assert got == INTEGRITY, f"{tgz} is not {PACKAGE}@{VERSION} as published: integrity {got}"
    target = CACHE / VERSION
    shutil.rmtree(target, ignore_errors=True)
    with tarfile.open(tgz) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse links and paths out of the folder
            tar.extractall(target, filter="data")
        else:
            names = tar.getnames()
            assert all(n.startswith("package/") and ".." not in n.split("/") for n in names), "unexpected paths"
            tar.extractall(target)
    missing = [f for f in FILES if not (dist / f).is_file()]
    assert not missing, f"{PACKAGE}@{VERSION} has no {missing}"
    return dist


class SameOrigin:
    """A Playwright route handler: the package's files in place of the vendored office.js, the backend's
    own routes passed through, every other request aborted and recorded in ``blocked``."""

    def __init__(self, origin: str, dist: Path, pages: dict[str, str] | None = None):
        self.origin, self.dist, self.pages = origin.rstrip("/"), dist, pages or {}
        self.blocked: list[str] = []
        self.served: list[str] = []  # package files served

    def __call__(self, route: Any) -> None:
        url = route.request.url
        if not url.startswith(self.origin + "/"):
            self.blocked.append(url)
            route.abort("blockedbyclient")
            return
        path = url[len(self.origin):].split("?")[0].split("#")[0]
        if path in self.pages:
            route.fulfill(status=200, content_type="text/html", body=self.pages[path])
            return
        m = VENDORED_OFFICE_JS.match(path)
        if m:
            f = (self.dist / m["file"]).resolve()
            if f.is_file() and f.is_relative_to(self.dist.resolve()):
                self.served.append(m["file"])
                route.fulfill(status=200, body=f.read_bytes(),
                              content_type=mimetypes.guess_type(f.name)[0] or "application/octet-stream")
            else:
                route.fulfill(status=404, body="")
            return
        route.continue_()
