"""Chromium for tests: how to start it here, page sizes, and an accessibility check with axe-core.

Browser tests use Debian's Chromium (Playwright's own download cannot run
here). ``axe_violations(page)`` runs axe-core (pinned in tests/js) in the page
and returns what it finds, each as "rule: target" lines a failing test prints.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

AXE = Path(__file__).resolve().parent.parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def axe_violations(page: Any) -> list[str]:
    """Every axe-core violation on the page as it is now, one line per element.

    axe runs in a twin page, in a context of its own that runs scripts and sets
    the site's Content-Security-Policy aside (which forbids injected scripts):
    the twin shows the same HTML at the same address and size, with the site's
    own style sheets, so pages seen without JavaScript are checked too.
    """
    if not AXE.is_file():
        raise RuntimeError("axe-core is not installed: run `make test` (it installs tests/js)")
    # A click that navigates returns before the next page has loaded: read it once it has.
    page.wait_for_load_state("load")
    html, url = page.content(), page.url.split("#")[0]
    context = page.context.browser.new_context(
        viewport=page.viewport_size, bypass_csp=True, java_script_enabled=True
    )
    try:
        twin = context.new_page()
        twin.route(
            url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8")
        )
        twin.goto(url)
        twin.add_script_tag(path=str(AXE))
        result = twin.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
    finally:
        context.close()
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} — {violation['help']}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


@pytest.fixture(scope="module", name="browser")
def chromium() -> Iterator[Any]:
    """The ``browser`` fixture: one Chromium for a test module (import it into the module)."""
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()
