"""Provisioning fixtures: a fixed 'today', and uploads kept in a temporary folder."""

from datetime import date

import pytest

TODAY = date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.UMP_UPLOAD_DIR = tmp_path / "extracts"
