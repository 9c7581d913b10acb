"""The slow figures as the issue 15 data contract shapes them (/work/notes: uptime bars,
TTFT percentiles, last probe per tier, incidents), and "no data yet" where a daemon
has none. The daemon's answers are extended in the browser (Playwright's request
routing) so the drawing is pinned whichever daemon serves the page.

Waits pass functions, not expression strings: Playwright polls an expression with
eval(), which the page's CSP (no 'unsafe-eval') refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route

from routeguard.breaker import Keys

from .conftest import ServiceLoop
from .stack import unreachable

WAIT_MS = 10_000
WINDOWS = ("5m", "30m", "1h", "1d", "30d")


def bars(count: int, bad: int) -> list[dict[str, Any]]:
    out = [
        {"start": f"2026-11-24T{i % 24:02d}:00:00.000Z", "ratio": 1.0, "down_s": 0.0}
        | {"excluded_s": 0.0, "covers_s": 3600.0}
        for i in range(count)
    ]
    out[bad] |= {"ratio": 0.5, "down_s": 1800.0}
    out[0] |= {"ratio": None, "covers_s": 0.0}
    return out


def probes(p50: float) -> dict[str, Any]:
    window = {"availability": 0.999, "probes": 500, "ttft_samples": 250, "covers_s": 86400.0}
    window |= {"ttft_p50_s": p50, "ttft_p95_s": p50 * 2, "ttft_p99_s": p50 * 3}
    return dict.fromkeys(WINDOWS, window)


def uptime(ratio: float) -> dict[str, Any]:
    window = {"ratio": ratio, "up_s": 86000.0, "down_s": 400.0, "covers_s": 86400.0}
    return dict.fromkeys(WINDOWS, window | {"excluded_s": {"forced": 0.0, "auth_quota": 0.0}})


def last_probes() -> dict[str, Any]:
    probe = {"outcome": "ok", "at": "2026-11-24T10:00:00.000Z", "latency_s": 0.2, "status": 200}
    return {
        "liveness": probe | {"tier": "liveness", "ttft_s": None},
        "completion": probe | {"tier": "completion", "ttft_s": None},
        "stream": probe | {"tier": "stream", "ttft_s": 0.31},
    }


INCIDENTS = {
    "incidents": [
        {"provider": "a", "started": "2026-11-24T10:00:00.000Z", "ended": None, "duration_s": 90.0}
        | {"routes": ["a/m"], "reasons": ["consecutive_failures"], "class": "down"},
        {"provider": "b", "started": "2026-11-23T08:00:00.000Z"}
        | {"ended": "2026-11-23T08:12:00.000Z", "duration_s": 720.0, "routes": ["b/m"]}
        | {"reasons": ["failure_rate", "trial_failed"], "class": "down"},
    ]
}


def uptime_answer(span: str) -> dict[str, Any]:
    count = 24 if span == "24h" else 90
    return {
        "span": span,
        "bar_s": 3600 if span == "24h" else 86400,
        "providers": [
            {
                "provider": p,
                "bars": bars(count, 5),
                "routes": [{"route": f"{p}/m", "bars": bars(count, 7)}],
            }
            for p in ("a", "b")
        ],
    }


def extend(route: Route, add: Any) -> None:
    answer = route.fetch()
    body = answer.json()
    add(body)
    route.fulfill(response=answer, body=json.dumps(body))


def contract(page: Page) -> None:
    def routes(body: dict[str, Any]) -> None:
        for record in body["routes"]:
            record |= {"models": ["chat"], "outage_since": None, "last_probes": last_probes()}
            record |= {"uptime": uptime(0.9987), "probes": probes(0.2)}

    def providers(body: dict[str, Any]) -> None:
        for record in body["providers"]:
            record |= {"uptime": uptime(0.9991), "probes": probes(0.25)}

    page.route("**/v1/routes", lambda r: extend(r, routes))
    page.route("**/v1/providers", lambda r: extend(r, providers))
    page.route("**/v1/uptime?*", lambda r: r.fulfill(json=uptime_answer(r.request.url[-3:])))
    page.route("**/v1/incidents?*", lambda r: r.fulfill(json=INCIDENTS))


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def test_the_contract_figures_are_drawn_bars_ttft_probes_per_tier_incidents(
    services: ServiceLoop, redis_url: str, forget_keys: Keys, page: Page
) -> None:
    contract(page)
    with unreachable(services, redis_url, forget_keys) as stack:
        page.goto(stack.url)
        row = page.locator('tr[data-route="a/m"]')
        row.locator(".bars .bar").first.wait_for(timeout=WAIT_MS)
        assert row.locator(".bars .bar").count() == 24
        assert row.locator(".bar-down").count() == 1 and row.locator(".bar-none").count() == 1
        assert "99.87 % up over 24 h" in row.inner_text()
        assert "serves chat" in row.inner_text()
        ttft = row.locator(".ttft").inner_text()
        assert "p50 200 ms" in ttft and "p95 400 ms" in ttft and "p99 600 ms" in ttft
        tiers = row.locator(".probes .tier").all_inner_texts()
        assert tiers == ["completion", "liveness", "stream"]
        head = page.locator('section[data-provider="a"] .provider-figures').inner_text()
        assert "99.91 % up over 24 h" in head and "p95 500 ms" in head

        items = page.locator("#incidents li.incident")
        assert items.count() == 2
        assert items.nth(0).get_attribute("data-ongoing") == "true"
        assert "ongoing" in items.nth(0).inner_text()
        assert "lasted 12 min 0 s" in items.nth(1).inner_text()

        page.click('button[data-span="90d"]')
        page.wait_for_function(
            "() => document.querySelectorAll('tr[data-route=\"a/m\"] .bars .bar').length === 90",
            timeout=WAIT_MS,
        )
        assert "up over 30 d" in row.inner_text()


def test_figures_a_daemon_does_not_have_read_no_data_yet(
    services: ServiceLoop, redis_url: str, forget_keys: Keys, page: Page
) -> None:
    page.route("**/v1/uptime?*", lambda r: r.fulfill(status=404, body="not found"))
    page.route("**/v1/incidents?*", lambda r: r.fulfill(status=404, body="not found"))
    fields = ("last_probe", "last_probes", "uptime", "probes")
    page.route(
        "**/v1/routes",
        lambda r: extend(r, lambda b: [x.pop(f, None) for x in b["routes"] for f in fields]),
    )
    with unreachable(services, redis_url, forget_keys) as stack:
        page.goto(stack.url)
        page.wait_for_selector("#figures-as-of:not(:empty)", timeout=WAIT_MS)
        row = page.locator('tr[data-route="a/m"]')
        for cell in ("TTFT", "Last probes", "Uptime"):
            assert row.locator(f'td[data-label="{cell}"]').inner_text() == "no data yet", cell
        assert page.locator("#incidents").inner_text() == "no data yet"
        assert page.locator(".bars").count() == 0
