"""Photograph View Learners and View Details from a running demo (called by scripts/screenshots).

    python scripts/_screenshots.py http://127.0.0.1:PORT docs/screenshots

Polls until the server answers, signs in as the demo's Digital Champion through the login form, and writes
two PNGs at 1280 px wide.
"""

import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ump.settings")
django.setup()

from playwright.sync_api import sync_playwright  # noqa: E402

from accounts.models import Account  # noqa: E402
from provisioning.management.commands.seed_demo import DEMO_PASSWORD  # noqa: E402

CHROMIUM = os.environ.get("UMP_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 860}


def wait_for(url, seconds=60):
    """Until the server answers (any HTTP status), or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 (our own local server)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"the demo server at {url} did not answer within {seconds} s") from None
            time.sleep(0.2)


def main(base, out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    school = Account.objects.filter(organisation__code="6614001").order_by("pk")  # Eryri High School
    champion = school.filter(
        kind=Account.Kind.STAFF, legal_forename="Gwenllïan", legal_surname="ap Rhys"
    ).first()
    learner = school.filter(kind=Account.Kind.LEARNER, legal_forename="Llŷr", legal_surname="O'Brien").first()
    wait_for(f"{base}/login/")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport=VIEWPORT, locale="en-GB")
        page.goto(f"{base}/login/")
        form = page.locator("form", has=page.locator("input[name=password]"))
        form.locator("input[name=username]").fill(champion.username)
        form.locator("input[name=password]").fill(DEMO_PASSWORD)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        page.goto(f"{base}/users/learners/?year=9")
        page.screenshot(path=out / "view-learners.png")
        page.goto(f"{base}/users/account/{learner.pk}/")
        page.locator("summary", has_text="Manage User").first.click()
        page.screenshot(path=out / "view-details.png")
        browser.close()
    for name in ("view-learners.png", "view-details.png"):
        print(out / name)


if __name__ == "__main__":
    main(*sys.argv[1:3])
