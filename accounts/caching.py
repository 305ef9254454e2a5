"""Responses no browser or proxy may keep: every signed-in page, passwords, credential files.

One set of headers for all of them: `no_store(response)` for the middleware and for views that build a
response by hand, `never_stored` as a view decorator.
"""

from functools import wraps

from django.utils.cache import add_never_cache_headers

NO_STORE = "no-store, no-cache, must-revalidate, private, max-age=0"


def no_store(response):
    """Mark the response never to be stored (Cache-Control, Expires, and Pragma for HTTP/1.0 caches)."""
    add_never_cache_headers(response)
    response["Cache-Control"] = NO_STORE
    response["Pragma"] = "no-cache"
    return response


def never_stored(view):
    """View decorator: whatever the view answers carries `no_store`'s headers, whoever asks."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return no_store(view(request, *args, **kwargs))

    return wrapped
