"""Real Chromium, driven by Playwright, against pytest-django's live_server.

Chromium is Debian's (/usr/bin/chromium); Playwright never downloads a browser here.
Without it the browser tests skip on a developer's machine, but fail under CI=true, so a
CI run cannot go green by testing nothing.
"""

import base64
import os
import shutil
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pyotp
import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, sync_playwright

from accounts.permissions import is_hwb_admin

CHROMIUM = os.environ.get("UMP_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling out, and this network refuses it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    # Playwright's sync API keeps an event loop in the main thread once started, which trips
    # Django's async-safety check in every later test: run the browser tests last.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{message}; CI must run the browser tests.", pytrace=False)
        pytest.skip(message)
    # The ORM then runs while Playwright's loop is alive; the live server has its own thread.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable[..., Page]]:
    """Returns a factory of pages, each in its own context (own cookies), English by default."""
    contexts = []

    def make(locale: str = "en-GB") -> Page:
        context = browser.new_context(base_url=live_server.url, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    """A fresh page with its own cookies, asking for English, at live_server's origin."""
    return new_page()


def totp_code(device, later: int = 0) -> str:
    """The code an authenticator app shows for `device` now (or `later` 30-second steps on)."""
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).at(time.time() + 30 * later)


@pytest.fixture
def sign_in(live_server) -> Callable[..., None]:
    """Signs a person in through the real login form: sign_in(page, account[, password])."""
    from tests.factories import DEMO_PASSWORD

    def sign_in_(page: Page, account, password: str = DEMO_PASSWORD, second_step: bool = True) -> None:
        login_path = reverse("accounts:login")
        if second_step and is_hwb_admin(account):
            # As the demo's administrators have: an authenticator set up, since they are asked every time.
            # Journeys of the second step itself pass second_step=False and set up what they need.
            TOTPDevice.objects.get_or_create(user=account, confirmed=True, defaults={"name": "phone"})
        page.goto(login_path)
        form = page.locator("form", has=page.locator("input[name=password]"))
        form.locator("input[name=username]").fill(account.username)
        form.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            form.locator("button[type=submit], input[type=submit], button:not([type])").first.click()
        if urlsplit(page.url).path == login_path:
            errors = page.locator(".errorlist, [role=alert]").all_inner_texts()
            pytest.fail(f"signing in as {account.username!r} failed: {errors}", pytrace=False)
        if second_step and urlsplit(page.url).path == reverse("mfa:verify"):
            # Asked for the second step (Hwb administrators always are): their authenticator gives the code.
            device = TOTPDevice.objects.get(user=account, confirmed=True)
            page.locator("input[name=code]").fill(totp_code(device))
            with page.expect_navigation():
                page.locator("main form button[type=submit]").click()

    return sign_in_


@pytest.fixture(autouse=True)
def static_files_the_live_server_can_serve(settings):
    """Plain static file names for the live server.

    pytest-django's live server answers /static/ itself through the staticfiles finders, which know
    `css/ump.css` but not the hashed `css/ump.<hash>.css` that the manifest storage (used whenever DEBUG is
    off) writes into pages: without this, every page under test would load with no stylesheet and no script,
    and axe would judge unstyled pages.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
