"""Every page each kind of person can reach passes axe-core, in English and in Welsh.

For each demo person: sign in through the login form, follow every same-origin link from
the home page (GET only), run axe-core on each page and collect serious and critical
violations, check <html lang>, then switch to Welsh with the page's own language form and
do it all again. Sign-out, the admin, the language endpoint and downloads are not followed.
"""

import re
from collections import Counter, deque
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

PEOPLE = ["digital_champion", "teacher", "secondary_learner", "primary_learner", "la_admin", "national_admin"]
BLOCKING_IMPACTS = {"serious", "critical"}
NEVER_FOLLOW = ("/logout/", "/admin/", "/i18n/", "/static/", "/media/")
DOWNLOAD_SUFFIXES = (".csv", ".pdf", ".zip", ".xlsx", ".txt", ".json")
# Pages that differ only by an id or a query value share a template: check a couple of each.
PAGES_PER_SHAPE = 2
MAX_PAGES = 80

axe = Axe()


@dataclass
class Problem:
    language: str
    path: str
    text: str

    def __str__(self) -> str:
        return f"[{self.language}] {self.path}: {self.text}"


def reversed_path(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def never_follow() -> tuple[str, ...]:
    extra = (reversed_path(name) for name in ("accounts:logout", "admin:index", "set_language"))
    return NEVER_FOLLOW + tuple(path for path in extra if path)


def shape(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def same_origin_links(page: Page, origin: str, skip: tuple[str, ...]) -> list[str]:
    links = page.eval_on_selector_all(
        "a[href]", "els => els.map(a => ({href: a.href, download: a.hasAttribute('download')}))"
    )
    found = []
    for link in links:
        parts = urlsplit(link["href"])
        if link["download"] or f"{parts.scheme}://{parts.netloc}" != origin:
            continue
        if parts.path.startswith(skip) or parts.path.lower().endswith(DOWNLOAD_SUFFIXES):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def html_language(page: Page) -> str:
    return (page.evaluate("document.documentElement.lang") or "").split("-")[0].lower()


def serious_violations(page: Page) -> list[str]:
    results = axe.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        found.append(f"axe {violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


def crawl(page: Page, origin: str, language: str) -> tuple[list[str], list[Problem]]:
    """Visit every page reachable from home; return the paths checked and the problems found."""
    skip = never_follow()
    login_path = reverse("accounts:login")
    home = reverse("accounts:home")
    queue, seen, per_shape = deque([home]), {home}, Counter()
    checked: list[str] = []
    problems: list[Problem] = []
    while queue and len(checked) < MAX_PAGES:
        path = queue.popleft()
        if per_shape[shape(path)] >= PAGES_PER_SHAPE:
            continue
        per_shape[shape(path)] += 1
        try:
            response = page.goto(urljoin(origin, path))
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                continue
            problems.append(Problem(language, path, f"could not load: {error}"))
            continue
        if response is None:
            continue
        if response.status >= 400:
            problems.append(Problem(language, path, f"linked page answers HTTP {response.status}"))
            continue
        if "text/html" not in (response.header_value("content-type") or ""):
            continue
        if urlsplit(page.url).path == login_path:
            problems.append(Problem(language, path, "sent back to the sign-in page"))
            continue
        checked.append(path)
        if html_language(page) != language:
            problems.append(
                Problem(language, path, f"<html lang={html_language(page)!r}>, expected {language!r}")
            )
        problems += [Problem(language, path, text) for text in serious_violations(page)]
        for link in same_origin_links(page, origin, skip):
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return checked, problems


def switch_language(page: Page, language: str) -> None:
    """Choose a language the way a person does: the language form on the home page."""
    page.goto(reverse("accounts:home"))
    forms = page.locator(f'form[action*="{reverse("set_language")}"]')
    if not forms.count():
        pytest.fail("the home page has no language switch form (a POST to set_language)", pytrace=False)
    choice = forms.locator(
        f'button[name="language"][value="{language}"], input[name="language"][value="{language}"]'
    )
    if choice.count() and choice.first.get_attribute("type") in (None, "submit"):
        submit = choice.first
    else:
        form = forms.filter(has=page.locator(f'input[type="hidden"][name="language"][value="{language}"]'))
        if form.count():
            form = form.first
        else:
            form = forms.filter(
                has=page.locator('select[name="language"], input[type="radio"][name="language"]')
            ).first
            selector = form.locator('select[name="language"]')
            if selector.count():
                selector.select_option(language)
            else:
                form.locator(f'input[type="radio"][name="language"][value="{language}"]').check()
        submit = form.locator("button[type=submit], input[type=submit], button:not([type])").first
    with page.expect_navigation():
        submit.click()
    assert html_language(page) == language, (
        f"after choosing {language!r} the page says lang={html_language(page)!r}"
    )


@pytest.mark.browser
@pytest.mark.parametrize("person", PEOPLE)
def test_every_page_a_person_can_reach_is_accessible_in_english_and_welsh(
    person, request, page, sign_in, live_server
):
    account = request.getfixturevalue(person)
    sign_in(page, account)

    checked_en, problems = crawl(page, live_server.url, "en")
    switch_language(page, "cy")
    checked_cy, problems_cy = crawl(page, live_server.url, "cy")
    problems += problems_cy

    assert checked_en, "no English page was checked"
    assert checked_cy, "no Welsh page was checked"
    assert not problems, (
        f"{len(problems)} problem(s) for {person} on {len(checked_en)} page(s):\n"
        + "\n".join(map(str, problems))
    )
