"""The Hwb help's numbered procedures, followed word for word in Chromium, in English and in Welsh.

Two help pages: managing users (View Users, Add new user +, Manage Local Authority Non-MIS Users, View
Details > Manage User > Deactivate) and passwords and printing (My Profile > Reset password, one learner's
Reset Password, Group Actions, Selected Users, View Details > Print, School Administrator Dashboard >
Administration > Download Passwords). Each test is one procedure, run by a person the help names, and clicks
only what the help tells them to click, by its label: the English labels are the help's own words, the Welsh
ones the catalogue's translation of them.
"""

import pytest
from django.utils import translation

from accounts.models import Account, AccountRequest
from passwords.models import GroupResetJob
from passwords.selectors import shown_password
from passwords.services import shown_passwords_store_bulk
from tests.factories import DEMO_PASSWORD, learner

pytestmark = pytest.mark.browser
LANGUAGES = ["en", "cy"]


def label(language, text):
    """The label as a person reading the page in `language` sees it."""
    with translation.override(language):
        return translation.gettext(text)


class Walk:
    """A person following the help in one language: `click("View Users")` clicks what the help names."""

    def __init__(self, page, language):
        self.page, self.language = page, language

    def t(self, text):
        return label(self.language, text)

    def open_menu(self, name):
        """A menu is a <details>: its summary is what the help calls clicking the menu."""
        summary = self.page.locator("summary", has_text=self.t(name)).first
        if not summary.evaluate("summary => summary.parentElement.open"):  # still open after a download
            summary.click()

    def click(self, name, role="link", exact=True):
        self.page.get_by_role(role, name=self.t(name), exact=exact).first.click()

    def button(self, name, exact=True):
        self.click(name, role="button", exact=exact)

    def search(self, term):
        self.page.get_by_role("searchbox").fill(term)
        self.button("Search")

    def pdf_from(self, action):
        """Run `action` and return the PDF response it causes (in this tab, a new one or a download)."""
        with self.page.context.expect_event(
            "response", predicate=lambda r: r.headers.get("content-type", "").startswith("application/pdf")
        ) as info:
            action()
        return info.value


@pytest.fixture
def walk(new_page, sign_in):
    def start(person, language):
        page = new_page(locale="cy" if language == "cy" else "en-GB")
        sign_in(page, person)
        return Walk(page, language)

    return start


# Managing users -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_view_users_view_learners_search_and_view_details(walk, teacher, secondary_learner, language):
    """View Users > View Learners; Search term; Search; View Details (any school staff)."""
    w = walk(teacher, language)
    w.open_menu("View Users")
    w.click("View Learners")
    w.search("O'Brien")
    w.click("View Details", exact=False)
    assert w.page.get_by_role("heading", level=1).inner_text().startswith("Llŷr O'Brien")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_digital_champion_adds_a_governor(walk, digital_champion, language):
    """View Users > View Governors > Add new user + > I understand > names > Generate Learner Password >
    Add User."""
    w = walk(digital_champion, language)
    w.open_menu("View Users")
    w.click("View Governors")
    w.click("Add new user", exact=False)
    assert w.page.get_by_role("heading", name=w.t("Are you sure?"), exact=False).is_visible()
    w.click("I understand")
    w.page.get_by_label(w.t("Forename"), exact=True).fill("Mererid")
    w.page.get_by_label(w.t("Surname"), exact=True).fill("Hopwood")
    w.page.get_by_label(w.t("3 months")).check()
    password_box = w.page.get_by_label(w.t("Password"), exact=True)
    assert password_box.input_value() == ""
    w.button("Generate Learner Password")
    password = password_box.input_value()
    assert password[0].isupper() and password[-2:].isdigit()  # there to see and copy, not yet applied
    assert w.page.get_by_label(w.t("Forename"), exact=True).input_value() == "Mererid"  # typing kept
    assert not AccountRequest.objects.exists()
    w.button("Add User")
    w.page.get_by_text("Hopwood", exact=False).first.wait_for()
    account = Account.objects.get(legal_surname="Hopwood")
    assert account.kind == Account.Kind.GOVERNOR and shown_password(account) == password


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_la_administrator_adds_an_la_user(walk, la_admin, language):
    """Manage Local Authority Non-MIS Users > Add new user + > I understand > names > Generate Password >
    Add User."""
    w = walk(la_admin, language)
    w.click("Manage Local Authority Non-MIS Users")
    w.click("Add new user", exact=False)
    w.click("I understand")
    w.page.get_by_label(w.t("Forename"), exact=True).fill("Owain")
    w.page.get_by_label(w.t("Surname"), exact=True).fill("Glyndŵr")
    w.page.get_by_label(w.t("1 month")).check()
    w.button("Generate Password")
    password = w.page.get_by_label(w.t("Password"), exact=True).input_value()
    assert len(password) >= 10
    w.button("Add User")
    w.page.get_by_text("Glyndŵr", exact=False).first.wait_for()
    account = Account.objects.get(legal_surname="Glyndŵr")
    assert account.kind == Account.Kind.LA_NON_MIS and shown_password(account) == password


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_digital_champion_deactivates_a_governor(walk, digital_champion, governor, language):
    """View Users > View Governors; Search; View Details; Manage User > Deactivate; Yes."""
    w = walk(digital_champion, language)
    w.open_menu("View Users")
    w.click("View Governors")
    w.search("Tudur")
    w.click("View Details", exact=False)
    w.open_menu("Manage User")
    w.click("Deactivate")
    assert w.page.get_by_text(w.t("Are you sure you wish to deactivate this account?")).is_visible()
    w.button("Yes")
    w.page.get_by_role("heading", level=1).wait_for()
    governor.refresh_from_db()
    assert not governor.is_active


# Passwords and printing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("person", ["secondary_learner", "governor"])
def test_my_profile_reset_password_generate_then_update(walk, request, person, language):
    """My Profile > Your Details > Reset password > Generate Password > Update Password (all but primary
    learners)."""
    account = request.getfixturevalue(person)
    w = walk(account, language)
    w.click("My Profile")
    assert w.page.get_by_role("heading", name=w.t("Your Details")).is_visible()
    w.click("Reset password")
    w.button("Generate Password")
    new = w.page.get_by_label(w.t("New password"), exact=True).input_value()
    account.refresh_from_db()
    assert new and not account.check_password(new)  # shown, not applied
    w.page.get_by_label(w.t("Current password"), exact=False).fill(DEMO_PASSWORD)
    w.button("Update Password")
    w.page.get_by_role("heading", name=w.t("My Profile")).wait_for()
    account.refresh_from_db()
    assert account.check_password(new)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_teacher_resets_a_learners_password(walk, teacher, secondary_learner, language):
    """View Users > View Learners; Search; View Details; Manage User > Reset Password; Generate Password;
    note it; Update Password."""
    w = walk(teacher, language)
    w.open_menu("View Users")
    w.click("View Learners")
    w.search("O'Brien")
    w.click("View Details", exact=False)
    w.open_menu("Manage User")
    w.click("Reset Password")
    w.button("Generate Password")
    new = w.page.get_by_label(w.t("New password"), exact=True).input_value()
    assert w.page.get_by_text(new).first.is_visible()  # noted before it is applied
    secondary_learner.refresh_from_db()
    assert not secondary_learner.check_password(new)
    w.button("Update Password")
    w.page.get_by_role("heading", level=1).wait_for()
    secondary_learner.refresh_from_db()
    assert secondary_learner.check_password(new)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_teacher_prints_a_learners_details_and_password(walk, teacher, secondary_learner, language):
    """View Details > Print > Print Details / Print With Password."""
    shown_passwords_store_bulk(items=[(secondary_learner.pk, "Dyfrgi472")])
    w = walk(teacher, language)
    w.open_menu("View Users")
    w.click("View Learners")
    w.click("View Details", exact=False)
    for item in ("Print Details", "Print With Password"):
        w.open_menu("Print")
        response = w.pdf_from(lambda item=item: w.button(item))
        assert response.status == 200
        if w.page.url.endswith(".pdf") or "/print/" in w.page.url:
            w.page.go_back()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_teacher_resets_a_registration_groups_passwords(walk, teacher, secondary_learner, language):
    """View Users > View Learners > Group Actions > Reset Passwords: Registration Group; choose; Reset
    Passwords."""
    w = walk(teacher, language)
    w.open_menu("View Users")
    w.click("View Learners")
    w.open_menu("Group Actions")
    w.click("Registration Group")
    w.page.get_by_label(w.t("Registration group")).select_option("9A")
    w.button("Reset Passwords")
    w.button("Reset Passwords")  # the confirmation names who will get a new password
    job = GroupResetJob.objects.get()
    assert (job.group_kind, job.group) == ("reg", "9A")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_teacher_prints_a_registration_group(walk, teacher, secondary_learner, language):
    """Group Actions > Print: Print Registration Group; choose; Print."""
    w = walk(teacher, language)
    w.open_menu("View Users")
    w.click("View Learners")
    w.open_menu("Group Actions")
    w.click("Print Registration Group")
    w.page.get_by_label(w.t("Registration group")).select_option("9A")
    assert w.pdf_from(lambda: w.button("Print")).status == 200


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_teacher_prints_selected_learners(walk, teacher, secondary_learner, wales, language):
    """View Users > View Learners; tick learners; Selected Users > Print Selected (With Password)."""
    other = learner(wales.secondary, legal_forename="Cerys", legal_surname="Morgan")
    w = walk(teacher, language)
    w.open_menu("View Users")
    w.click("View Learners")
    select_all = w.page.get_by_role("checkbox", name=w.t("Select all on this page"))
    select_all.check()  # the select-all box ticks every learner on the page
    boxes = w.page.locator("input.js-select")
    assert boxes.count() == 2 and all(boxes.nth(i).is_checked() for i in range(2))
    select_all.uncheck()
    w.page.locator(f"#sel-{other.pk}").check()
    w.open_menu("Selected Users")
    response = w.pdf_from(lambda: w.button("Print Selected (With Password)"))
    assert response.status == 200


@pytest.mark.parametrize("language", LANGUAGES)
def test_school_staff_download_all_pupils_passwords(walk, teacher, secondary_learner, language):
    """School Administrator Dashboard > Administration > Download Passwords > All Pupils; the warning;
    Proceed with download (or Go Back)."""
    w = walk(teacher, language)
    assert w.page.get_by_role("heading", name=w.t("School Administrator Dashboard")).is_visible()
    w.open_menu("Administration")
    w.click("All Pupils")
    assert w.page.locator(".warning-panel").is_visible()
    w.click("Go Back")
    w.open_menu("Administration")
    w.click("All Pupils")
    with w.page.expect_download() as download:
        w.button("Proceed with download")
    assert download.value.suggested_filename.endswith(".csv")


# Menus on a phone -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_menus_work_by_keyboard_and_fit_a_phone(
    new_page, sign_in, digital_champion, secondary_learner, language
):
    page = new_page(locale="cy" if language == "cy" else "en-GB")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, digital_champion)
    page.goto("/users/learners/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    nav_bottom = page.evaluate("document.querySelector('.main-nav').getBoundingClientRect().bottom")
    assert nav_bottom < 844 / 2, "the navigation fills the first screen"
    summary = page.locator("summary", has_text=label(language, "View Users")).first
    summary.focus()
    page.keyboard.press("Enter")
    link = page.get_by_role("link", name=label(language, "View Learners"), exact=True)
    link.wait_for(state="visible")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.keyboard.press("Escape")
    link.wait_for(state="hidden")
