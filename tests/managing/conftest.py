"""Fixtures every managing-users test uses."""

import pytest
from django.utils import translation

from ump.celery import app


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in-process (as with no broker configured) unless a test starts a real worker."""
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture(autouse=True)
def english_afterwards():
    """A Welsh request leaves Welsh active in this thread; later tests expect the default language."""
    yield
    translation.activate("en")
