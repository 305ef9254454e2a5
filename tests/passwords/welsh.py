"""Compile locale/cy/fragments/*.json into a throwaway catalogue so Welsh can be tested before the lead
merges the fragments into locale/cy/LC_MESSAGES (the team never runs makemessages itself)."""

import json
from pathlib import Path

import polib
import pytest
from django.conf import settings

FRAGMENTS = Path(settings.BASE_DIR) / "locale" / "cy" / "fragments"
WELSH_PLURALS = "nplurals=6; plural=(n==0) ? 0 : (n==1) ? 1 : (n==2) ? 2 : (n==3) ? 3 : (n==6) ? 4 : 5;"


def fragment(name: str = "passwords") -> dict:
    return json.loads((FRAGMENTS / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def welsh_catalogue(tmp_path, settings):
    """Welsh from this area's fragment, ahead of the project catalogue."""
    catalogue = polib.POFile()
    catalogue.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Language": "cy",
        "Plural-Forms": WELSH_PLURALS,
    }
    for msgid, msgstr in fragment().items():
        catalogue.append(polib.POEntry(msgid=msgid, msgstr=msgstr))
    folder = tmp_path / "locale" / "cy" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalogue.save_as_mofile(str(folder / "django.mo"))
    settings.LOCALE_PATHS = [str(tmp_path / "locale"), *settings.LOCALE_PATHS]
    return fragment()
