"""Refresh the Welsh catalogue: collect every msgid, then fill translations from locale/cy/fragments/*.json.

Usage: python scripts/messages.py [--check]
- runs `makemessages -l cy` over the project (not .venv, tests, bench);
- fills empty msgstr entries from the fragments ({"msgid": "msgstr"}; plural entries keyed
  "singular||plural" with a list of six Welsh forms), clears fuzzy flags on filled entries;
- prints the msgids still untranslated and exits 1 if there are any.
"""

import json
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "cy" / "LC_MESSAGES" / "django.po"
FRAGMENTS = ROOT / "locale" / "cy" / "fragments"
IGNORE = [".venv", "tests", "bench", "staticfiles", "scripts", "media", "build"]


def collect():
    args = [sys.executable, "manage.py", "makemessages", "-l", "cy", "--no-obsolete", "--no-location"]
    for pattern in IGNORE:
        args += ["--ignore", f"{pattern}/*"]
    subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def load_fragments():
    merged = {}
    for path in sorted(FRAGMENTS.glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def fill(po, translations):
    for entry in po:
        key = f"{entry.msgid}||{entry.msgid_plural}" if entry.msgid_plural else entry.msgid
        if key not in translations:
            continue
        value = translations[key]
        if entry.msgid_plural:
            forms = value if isinstance(value, list) else [value] * 6
            if not all(entry.msgstr_plural.get(i) for i in range(6)) or "fuzzy" in entry.flags:
                entry.msgstr_plural = dict(enumerate(forms))
        elif not entry.msgstr or "fuzzy" in entry.flags:
            entry.msgstr = value
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
            entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None


def main():
    if "--check" not in sys.argv:
        collect()
    po = polib.pofile(str(PO), wrapwidth=0)
    po.metadata["Language"] = "cy"
    po.metadata["Project-Id-Version"] = "UMP"
    po.metadata["Last-Translator"] = "UMP maintainers"
    po.metadata["Language-Team"] = "Welsh"
    if po.metadata.get("PO-Revision-Date", "").startswith("YEAR"):
        po.metadata["PO-Revision-Date"] = po.metadata.get("POT-Creation-Date", "")
    po.metadata["Plural-Forms"] = (
        "nplurals=6; plural=(n==0) ? 0 : (n==1) ? 1 : (n==2) ? 2 : (n==3) ? 3 : (n==6) ? 4 : 5;"
    )
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    fill(po, load_fragments())
    for entry in po:
        # Leftover "#|" history of an entry that is no longer fuzzy confuses msgfmt.
        if "fuzzy" not in entry.flags:
            entry.previous_msgid = entry.previous_msgid_plural = entry.previous_msgctxt = None
    po.save(str(PO))
    missing = [e.msgid for e in po if not e.translated() or "fuzzy" in e.flags]
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    print(f"{len(po)} entries, {len(missing)} untranslated")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
