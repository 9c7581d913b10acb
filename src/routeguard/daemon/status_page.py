"""`GET /`: the status page (docs/status-page.md), served from files in the package.

The page is static: HTML, CSS and ES modules under `routeguard/daemon/page/`,
no build step and nothing from another origin. Its data comes from the JSON API
and the watch feed in the browser. The index names its assets under a hash of
their contents (`/page/<version>/main.js`), so they can be cached for a year and
a new release is never served stale; the index itself is revalidated by ETag.
Every answer carries a Content-Security-Policy that allows only this origin and
no inline script or style.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

ASSET_DIR = "page"
INDEX = "index.html"
ASSETS_MARK = "{{assets}}"  # where index.html names the versioned asset path
CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
INDEX_CACHE = "no-cache"  # revalidate: a new release changes the asset path it names
ASSET_CACHE = "public, max-age=31536000, immutable"  # the path changes with the contents


@dataclass(frozen=True)
class Served:
    """One file as it is answered: its bytes, type and validator."""

    body: bytes
    content_type: str
    etag: str
    cache_control: str


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


class StatusPage:
    """The page's files, read once; `add_to()` serves them on an aiohttp application."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        if INDEX not in files:
            raise ValueError(f"the status page needs {INDEX}")
        assets = {name: body for name, body in files.items() if name != INDEX}
        digest = hashlib.sha256()
        for name in sorted(assets):
            digest.update(name.encode() + b"\0" + assets[name] + b"\0")
        self.version = digest.hexdigest()[:12]
        self.prefix = f"/page/{self.version}"
        html = files[INDEX].replace(ASSETS_MARK.encode(), self.prefix.encode())
        self.index = Served(html, "text/html; charset=utf-8", _etag(html), INDEX_CACHE)
        self.assets = {
            name: Served(body, _content_type(name), _etag(body), ASSET_CACHE)
            for name, body in assets.items()
        }

    @classmethod
    def from_package(cls) -> StatusPage:
        """The files shipped in `routeguard/daemon/page/` (package data)."""
        folder = resources.files("routeguard.daemon").joinpath(ASSET_DIR)
        files = {
            entry.name: entry.read_bytes()
            for entry in folder.iterdir()
            if entry.is_file() and (entry.name == INDEX or _known(entry.name))
        }
        return cls(files)

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/", self._index)
        app.router.add_get("/page/{version}/{name}", self._asset)

    async def _index(self, request: web.Request) -> web.Response:
        return _answer(request, self.index)

    async def _asset(self, request: web.Request) -> web.Response:
        served = self.assets.get(request.match_info["name"])
        if served is None or request.match_info["version"] != self.version:
            # An older page asking for its own assets: reloading it fetches the new ones.
            raise web.HTTPNotFound(text="no such asset in this release: reload the page")
        return _answer(request, served)


def _known(name: str) -> bool:
    return any(name.endswith(suffix) for suffix in CONTENT_TYPES)


def _content_type(name: str) -> str:
    return next(kind for suffix, kind in CONTENT_TYPES.items() if name.endswith(suffix))


def _answer(request: web.Request, served: Served) -> web.Response:
    headers = SECURITY_HEADERS | {"ETag": served.etag, "Cache-Control": served.cache_control}
    given = _etags(request.headers.get("If-None-Match", ""))
    if served.etag in given or "*" in given:
        return web.Response(status=304, headers=headers)
    return web.Response(body=served.body, headers=headers | {"Content-Type": served.content_type})


def _etags(header: str) -> set[str]:
    """The entity tags of an If-None-Match header (weak ones compare as strong: RFC 9110)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
