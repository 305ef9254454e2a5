"""Journeys in real Chromium that only a browser can prove: Show password's script."""

import pytest

from passwords.services import shown_passwords_store_bulk
from tests.factories import learner


@pytest.fixture
def learner_with_password(secondary_learner):
    shown_passwords_store_bulk(items=[(secondary_learner.pk, "Dyfrgi472")])
    return secondary_learner


@pytest.mark.browser
class ShowPasswordJourneyTests:
    def _row(self, page, account):
        return page.locator("tr", has=page.get_by_text(account.username, exact=True))

    def test_a_teacher_reveals_a_password_and_it_hides_again_when_focus_leaves(
        self, page, sign_in, teacher, learner_with_password
    ):
        sign_in(page, teacher)
        page.goto("/users/learners/")
        row = self._row(page, learner_with_password)
        assert "Dyfrgi472" not in page.content()  # never in the page until asked for
        row.get_by_role("button", name="Show password").click()
        value = row.locator(".js-value")
        value.wait_for(state="visible")
        assert value.inner_text() == "Dyfrgi472"
        assert row.get_by_role("button", name="Copy").is_visible()
        page.get_by_role("heading", name="Learners").click()  # pointer and focus leave the box
        page.keyboard.press("Tab")
        value.wait_for(state="hidden")
        assert "Dyfrgi472" not in page.content()
        assert row.get_by_role("button", name="Show password").is_visible()

    def test_it_works_in_welsh_too(self, new_page, sign_in, teacher, learner_with_password):
        page = new_page(locale="cy")
        sign_in(page, teacher)
        page.goto("/users/learners/")
        row = self._row(page, learner_with_password)
        row.get_by_role("button", name="Dangos Cyfrinair").click()
        row.locator(".js-value").wait_for(state="visible")
        assert row.locator(".js-value").inner_text() == "Dyfrgi472"


@pytest.mark.browser
def test_pages_load_their_stylesheet_and_scripts(page, sign_in, teacher, learner_with_password):
    failed = []
    page.on("response", lambda r: failed.append(r.url) if "/static/" in r.url and r.status != 200 else None)
    sign_in(page, teacher)
    page.goto("/users/learners/")
    page.wait_for_load_state("networkidle")
    assert not failed, f"static files not served: {failed}"
    # The stylesheet really applies: the header bar has the brand colour, not the browser default.
    colour = page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert colour == "rgb(0, 89, 76)"


@pytest.fixture
def class_with_passwords(wales):
    """Twenty learners with passwords to show, so that some rows sit low in a 1280x900 window; long Welsh
    names, as real classes have, fill the table's width."""
    pupils = [
        learner(
            wales.secondary,
            legal_forename=f"Gwenllïan-Angharad {i:02d}",
            legal_surname=f"Llywelyn-Fitzgerald ap Gruffydd {i:02d}",
        )
        for i in range(20)
    ]
    shown_passwords_store_bulk(items=[(p.pk, f"Dyfrgi{100 + i}") for i, p in enumerate(pupils)])
    return pupils


def leave(page):
    """Pointer and focus leave the box (without scrolling, as clicking elsewhere might): the password hides."""
    page.mouse.move(1270, 5)
    page.evaluate("document.activeElement && document.activeElement.blur()")


AFTER_TWO_FRAMES = (
    """() => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(() => resolve())))"""
)


@pytest.mark.browser
class ShowPasswordLowInTheWindowTests:
    """Issue 12: in Welsh, Dangos Cyfrinair on a row low in the window made the page jump ~480 px, the
    password hid at once, and Copy kept saying it had copied on later reveals."""

    def test_rows_low_in_the_window_reveal_in_place_and_copy_starts_afresh(
        self, new_page, sign_in, teacher, class_with_passwords, live_server
    ):
        page = new_page(locale="cy")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        sign_in(page, teacher)
        page.goto("/users/learners/")
        rows = [
            page.locator("tr", has=page.get_by_text(p.username, exact=True)) for p in class_with_passwords
        ]
        for index, row in enumerate(rows[2:12:3]):
            # The row low in the window: its foot just past the bottom edge (as the lowest of the nine or so
            # rows a teacher sees), or just inside it; its Dangos Cyfrinair button in full view either way.
            overhang = 25 if index % 2 == 0 else -15
            row.evaluate(
                "(el, overhang) => window.scrollTo(0, el.getBoundingClientRect().bottom + window.scrollY"
                " - window.innerHeight + overhang)",
                overhang,
            )
            shown = row.get_by_role("button", name="Dangos Cyfrinair").bounding_box()
            assert shown["y"] >= 0 and shown["y"] + shown["height"] <= 900, (
                "Playwright would scroll to click it"
            )
            before = page.evaluate("window.scrollY")
            row.get_by_role("button", name="Dangos Cyfrinair").click()
            value = row.locator(".js-value")
            value.wait_for(state="visible")
            page.evaluate(AFTER_TWO_FRAMES)
            assert page.evaluate("window.scrollY") == before, f"row {index} made the page jump"
            assert value.is_visible(), f"row {index}: the password hid at once"
            assert value.inner_text().startswith("Dyfrgi")
            copy = row.locator(".js-copy")
            assert copy.inner_text() == "Copïo"
            copy.click()
            page.wait_for_function('el => el.textContent === "Wedi\'i gopïo"', arg=copy.element_handle())
            leave(page)
            value.wait_for(state="hidden")
            row.get_by_role("button", name="Dangos Cyfrinair").click()
            value.wait_for(state="visible")
            assert copy.inner_text() == "Copïo", "Copy still says it copied, on a new reveal"
            leave(page)
            value.wait_for(state="hidden")
