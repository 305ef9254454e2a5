"""The tree is lint-clean and the models match their migrations."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


class QualityTests:
    def test_ruff_finds_nothing(self):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"ruff check . found problems:\n{result.stdout}{result.stderr}"

    def test_ruff_format_changes_nothing(self):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, (
            f"ruff format --check . would reformat:\n{result.stdout}{result.stderr}"
        )

    @pytest.mark.django_db
    def test_every_model_change_has_a_migration(self):
        out = StringIO()
        try:
            call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
        except SystemExit:
            pytest.fail(f"makemigrations --check found model changes without migrations:\n{out.getvalue()}")
