"""Journeys in real Chromium that only a browser can prove: Show password's script."""

import pytest

from passwords.services import shown_passwords_store_bulk


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
