"""The Welsh catalogue is complete: every msgid in the code has a reviewed translation."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "cy" / "LC_MESSAGES" / "django.po"


def ignored_folders() -> list[str]:
    """The folders scripts/messages leaves out of the extraction (scripts/messages-ignore)."""
    return (ROOT / "scripts" / "messages-ignore").read_text(encoding="utf-8").split()


NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "staticfiles", "node_modules", "media", "__pycache__", "*.mo", ".*_cache", "db.sqlite3"
)


def msgids(po: polib.POFile) -> set[tuple[str, str, str]]:
    return {
        (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "") for entry in po if not entry.obsolete
    }


def committed_catalogue() -> polib.POFile:
    if not CATALOGUE.exists():
        pytest.fail(f"{CATALOGUE.relative_to(ROOT)} is missing: run scripts/messages", pytrace=False)
    return polib.pofile(str(CATALOGUE))


def require_gettext() -> None:
    if not shutil.which("msgfmt") or not shutil.which("xgettext"):
        pytest.fail("gettext is not installed (Debian: apt-get install gettext)", pytrace=False)


class WelshCatalogueTests:
    def test_it_exists(self):
        assert CATALOGUE.exists(), f"{CATALOGUE.relative_to(ROOT)} is missing: run scripts/messages"

    def test_it_has_no_untranslated_or_fuzzy_messages(self):
        require_gettext()
        committed_catalogue()
        result = subprocess.run(
            ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(CATALOGUE)],
            capture_output=True,
            text=True,
            check=False,
        )
        statistics = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        assert result.returncode == 0, f"msgfmt --check failed:\n{result.stderr}"
        assert re.search(r"\d+ translated message", statistics), statistics
        if "untranslated" in statistics or "fuzzy" in statistics:
            po = committed_catalogue()
            missing = [entry.msgid for entry in po.untranslated_entries() + po.fuzzy_entries()]
            pytest.fail(f"{statistics}\nUntranslated or fuzzy:\n" + "\n".join(f"  {m!r}" for m in missing))

    def test_a_fresh_extraction_finds_no_new_msgids(self, tmp_path):
        require_gettext()
        committed = committed_catalogue()
        copy = tmp_path / "ump"
        shutil.copytree(ROOT, copy, ignore=NOT_COPIED)
        result = subprocess.run(
            [sys.executable, "manage.py", "makemessages", "--locale=cy", "--no-obsolete", "--no-location"]
            + [f"--ignore={pattern}/*" for pattern in ignored_folders()],
            cwd=copy,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"

        extracted = polib.pofile(str(copy / CATALOGUE.relative_to(ROOT)))
        new = msgids(extracted) - msgids(committed)
        assert not new, (
            "msgids in the code but not in locale/cy/LC_MESSAGES/django.po (run scripts/messages, "
            "then write their Welsh in django.po):\n"
            + "\n".join(f"  {msgid!r}" for _, msgid, _ in sorted(new))
        )


# A Welsh reviewer's corrections (issue 12): forms that must not come back, with why.
FORBIDDEN = {
    r"\by MIS\b": "'y MIS' reads as 'the month': ar yr MIS",
    r"\bneu (gwrthod|diystyr|caew|dewis)": "soft mutation after 'neu': neu wrthodwch, ddiystyrwch, gaewch, ddewiswch",
    r"\bi Darparu\b": "soft mutation after 'i': Yn ôl i Ddarparu",
    r"\bCreu Cyfrinair\b|\bCreu enw defnyddiwr\b": "Generate is Cynhyrchu",
    r"\bymdrechion\b": "sign-in attempts are ymgeisiau",
    r"\ba rhoi cynnig\b": "a rhowch gynnig arall arni",
    r"\bDoes (dim|gan)\b": "one register: Nid oes",
    r"wedi'i wneud cais amdano": "Mae cais wedi'i wneud am gyfrif ar gyfer ...",
}
REQUIRED = {
    "Main": "Prif lywio",
    "has a copy": "mae ganddo gopi",
    "role grant": "rôl a roddwyd",
    "User changed password": "Cyfrinair wedi'i newid gan y defnyddiwr",
    "Back to Provisioning": "Yn ôl i Ddarparu",
    "Generate Password": "Cynhyrchu Cyfrinair",
    "The OneRoster package lacks manifest.csv, orgs.csv or users.csv.": (
        "Mae manifest.csv, orgs.csv neu users.csv ar goll o'r pecyn OneRoster."
    ),
}


class WelshReviewTests:
    def test_no_translation_uses_a_form_the_reviewer_corrected(self):
        found = []
        for entry in committed_catalogue():
            for text in [entry.msgstr, *entry.msgstr_plural.values()]:
                for pattern, why in FORBIDDEN.items():
                    if re.search(pattern, text):
                        found.append(f"{entry.msgid!r}: {text!r} ({why})")
        assert not found, "\n".join(found)

    def test_the_reviewers_wording_is_used(self):
        translations = {entry.msgid: entry.msgstr for entry in committed_catalogue()}
        wrong = {
            msgid: translations.get(msgid)
            for msgid, welsh in REQUIRED.items()
            if translations.get(msgid) != welsh
        }
        assert not wrong
