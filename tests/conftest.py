"""Shared fixtures: one strict build per session, served on 127.0.0.1, one browser."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import chromium, site

ROOT = site.ROOT


@pytest.fixture(scope="session")
def served_site(tmp_path_factory):
    """(site_dir, base_url) of the real site, built once with --strict."""
    site_dir = tmp_path_factory.mktemp("build") / "site"
    with site.serve(site_dir) as base_url:
        site.build(ROOT / "mkdocs.yml", site_dir, site_url=base_url)
        yield site_dir, base_url


@pytest.fixture(scope="session")
def site_dir(served_site) -> Path:
    return served_site[0]


@pytest.fixture(scope="session")
def base_url(served_site) -> str:
    return served_site[1]


@pytest.fixture(scope="session")
def browser():
    path = chromium.find_chromium()
    if path is None:
        # Never a skip: a missing browser would hide every browser test.
        pytest.fail(
            "no Chromium found: install Debian's `chromium` or set CHROMIUM "
            "(`make test` fetches Playwright's build where the machine has internet)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=chromium.LAUNCH_ARGS)
        yield browser
        browser.close()


@dataclass
class PageLog:
    """What a page did that a test may object to."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"failed request: {u}" for u in self.failed_requests]
            + [f"request outside the origin: {u}" for u in self.outside_requests]
        )


def open_context(browser, base_url, **kwargs):
    """A fresh browser context whose requests outside ``base_url`` are blocked and logged."""
    context = browser.new_context(**kwargs)
    log = PageLog()

    def route(route):
        url = route.request.url
        if url.startswith(base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            log.outside_requests.append(url)
            route.abort()

    context.route("**/*", route)

    def watch(page):
        page.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: _request_failed(log, r))
        page.on(
            "response",
            lambda r: r.status >= 400 and log.failed_requests.append(f"{r.url} (HTTP {r.status})"),
        )

    context.on("page", watch)
    return context, log


def _request_failed(log: PageLog, request) -> None:
    # A load cut short because the test navigated on (ERR_ABORTED) is not a fault
    # of the page; requests we blocked are logged as outside requests already.
    if request.failure == "net::ERR_ABORTED" or request.url in log.outside_requests:
        return
    log.failed_requests.append(f"{request.url} ({request.failure})")


@pytest.fixture
def context(browser, base_url):
    context, log = open_context(browser, base_url)
    context.log = log
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page


def pytest_report_header(config):
    return [
        f"chromium: {chromium.find_chromium() or 'NOT FOUND'}",
        f"CI: {os.environ.get('CI', '')!r}",
    ]
