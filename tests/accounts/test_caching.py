"""no_store: one set of never-store headers for the middleware, password responses and credential files."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from accounts.caching import NO_STORE, never_stored, no_store


def assert_never_stored(response):
    assert response["Cache-Control"] == NO_STORE
    assert response["Pragma"] == "no-cache"
    assert "Expires" in response


class NoStoreTests:
    def test_it_sets_every_never_store_header(self):
        assert_never_stored(no_store(HttpResponse("personal")))

    def test_the_decorator_marks_whatever_the_view_answers(self):
        @never_stored
        def view(request):
            return HttpResponse("not found", status=404)

        response = view(RequestFactory().get("/"))
        assert response.status_code == 404
        assert_never_stored(response)

    @pytest.mark.django_db
    def test_the_middleware_marks_every_signed_in_page_the_same_way(self, login, teacher):
        assert_never_stored(login(teacher).get(reverse("accounts:home")))

    @pytest.mark.django_db
    def test_the_password_views_mark_their_answers_the_same_way(self, login, teacher):
        assert_never_stored(login(teacher).get(reverse("passwords:own_password") + "?generate=1"))
