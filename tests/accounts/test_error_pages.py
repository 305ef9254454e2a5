"""403, 404 and 500 pages in both languages (the reader's first), the CSRF failure page, and the favicon."""

import html

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db

ENGLISH = {403: "You may not do this", 404: "Page not found", 500: "Sorry, something went wrong"}
WELSH = {
    403: "Ni chewch wneud hyn",
    404: "Heb ddod o hyd i'r dudalen",
    500: "Mae'n ddrwg gennym, aeth rhywbeth o'i le",
}


def text(response):
    return html.unescape(response.content.decode())


class ErrorPageTests:
    @pytest.mark.parametrize("language", ["en", "cy"])
    def test_a_404_speaks_both_languages_the_readers_first(self, login, teacher, other_learner, language):
        client = login(teacher)
        client.cookies["django_language"] = language
        response = client.get(reverse("accounts:account_detail", args=[other_learner.pk]))
        assert response.status_code == 404
        page = text(response)
        assert ENGLISH[404] in page and WELSH[404] in page
        first, second = (WELSH[404], ENGLISH[404]) if language == "cy" else (ENGLISH[404], WELSH[404])
        assert page.index(first) < page.index(second)
        assert f'<html lang="{language}">' in page

    def test_a_403_is_not_a_bare_english_forbidden(self, login, secondary_learner):
        client = login(secondary_learner)
        client.cookies["django_language"] = "cy"
        response = client.post(reverse("passwords:reveal", args=[secondary_learner.pk]))
        assert response.status_code == 403
        page = text(response)
        assert "403 Forbidden" not in page
        assert WELSH[403] in page and ENGLISH[403] in page

    def test_a_500_needs_no_request_context_and_speaks_both_languages(self):
        request = RequestFactory().get("/")
        with translation.override("cy"):
            response = server_error(request)
        page = text(response)
        assert response.status_code == 500
        assert WELSH[500] in page and ENGLISH[500] in page
        assert page.index(WELSH[500]) < page.index(ENGLISH[500])

    def test_an_expired_form_says_so_in_both_languages(self, teacher, secondary_learner):
        client = Client(enforce_csrf_checks=True)
        client.force_login(teacher, backend="accounts.backends.UsernameOrEmailBackend")
        response = client.post(reverse("passwords:reveal", args=[secondary_learner.pk]))
        assert response.status_code == 403
        page = text(response)
        assert "This form has expired" in page and "Mae'r ffurflen hon wedi dod i ben" in page
        assert "CSRF verification failed" not in page


class FaviconTests:
    def test_favicon_ico_is_served_at_the_root(self, client):
        response = client.get("/favicon.ico")
        assert response.status_code == 200
        assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")

    def test_pages_link_an_icon(self, login, teacher):
        page = login(teacher).get(reverse("accounts:home")).content.decode()
        assert 'rel="icon"' in page
