"""`GET /` and its assets as HTTP: types, CSP, caching, and the files a wheel ships."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.daemon.status_page import CSP, StatusPage

from .daemon_helpers import catalog_from, running_daemon

REPO = Path(__file__).resolve().parents[2]
PAGE_DIR = REPO / "src" / "routeguard" / "daemon" / "page"
CATALOG = """
providers:
  a: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
probes: {interval_s: 3600}
models:
  chat: [a/m]
"""


def asset_paths(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/page/[^"]+)"', html)


@pytest.mark.redis
async def test_the_page_and_its_assets_have_their_types_a_strict_csp_and_cache_validators(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys) as daemon,
        httpx.AsyncClient(base_url=daemon.http_url) as client,
    ):
        index = await client.get("/")
        assert index.status_code == 200
        assert index.headers["content-type"] == "text/html; charset=utf-8"
        assert index.headers["content-security-policy"] == CSP
        assert "default-src 'self'" in CSP and "'unsafe-inline'" not in CSP
        assert index.headers["x-content-type-options"] == "nosniff"
        assert index.headers["cache-control"] == "no-cache"
        again = await client.get("/", headers={"If-None-Match": index.headers["etag"]})
        assert again.status_code == 304 and again.content == b""

        paths = asset_paths(index.text)
        assert {p.rsplit("/", 1)[1] for p in paths} == {"icon.svg", "page.css", "main.js"}
        kinds = {"svg": "image/svg+xml", "css": "text/css", "js": "text/javascript"}
        for path in paths:
            asset = await client.get(path)
            assert asset.status_code == 200, path
            assert asset.headers["content-type"].startswith(kinds[path.rsplit(".", 1)[1]])
            assert "immutable" in asset.headers["cache-control"]
            assert asset.headers["content-security-policy"] == CSP
        version = paths[0].split("/")[2]
        stale = await client.get(paths[0].replace(version, "0" * len(version)))
        assert stale.status_code == 404
        assert (await client.get(f"/page/{version}/nothing.js")).status_code == 404


def test_the_asset_path_changes_with_the_contents() -> None:
    files = {"index.html": b'<script src="{{assets}}/main.js"></script>', "main.js": b"1"}
    before = StatusPage(files)
    after = StatusPage(files | {"main.js": b"2"})
    assert before.version != after.version
    assert f"{before.prefix}/main.js".encode() in before.index.body


def test_the_scripts_never_turn_data_into_markup() -> None:
    """Details and reasons come from outside: text nodes only (no innerHTML and kin)."""
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function"
    )
    for script in PAGE_DIR.glob("*.js"):
        assert not forbidden.search(script.read_text()), script.name
    html = (PAGE_DIR / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script (the CSP forbids it)"
    assert not re.search(r"\bstyle=|\bon[a-z]+=", html), "inline style or handler"


def test_a_wheel_ships_every_file_of_the_page(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("routeguard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"routeguard/daemon/page/{p.name}" for p in PAGE_DIR.iterdir() if p.is_file()}
    assert shipped and shipped <= names, shipped - names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    served = subprocess.run(
        [sys.executable, "-c", "from routeguard.daemon.status_page import StatusPage as P; "
         "p = P.from_package(); print(sorted(p.assets), p.index.body.count(b'/page/'))"],
        capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(target)}, cwd=tmp_path,
    )  # fmt: skip
    assert served.returncode == 0, served.stderr
    assert served.stdout.split("]")[0].count(".js") == len(list(PAGE_DIR.glob("*.js")))
