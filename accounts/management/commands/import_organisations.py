"""Load or update organisations (schools, LAs, consortia, ITE providers, national) from a CSV file.

Rules: columns code, kind, name, name_cy, phase, parent_code, and optionally trusted_networks (address ranges
such as 192.0.2.0/24 or 2001:db8::/48, separated by spaces or semicolons; an empty cell keeps the ranges the
organisation has) and language_medium (welsh, english, bilingual or empty; without the column an organisation
keeps the medium it has: a Welsh-medium school's learners get passwords made of Welsh words); a parent may come
later in the file; a
school's code is its 3-digit LA number and 4-digit establishment number; rows are matched on code, so
running the same file twice changes nothing. Any bad row is reported with its line number and the whole
file is refused: nothing is written. With --dry-run the file is checked and nothing is written.
"""

import io

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.services import OrganisationImportError, organisations_import


class Command(BaseCommand):
    help = (
        "Load or update organisations from a CSV file (code,kind,name,name_cy,phase,parent_code"
        "[,language_medium])."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, file, dry_run=False, **options):
        try:
            with open(file, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="strict") if _is_cp1252(raw) else None
            if text is None:
                raise CommandError(
                    "The file is neither UTF-8 nor Windows-1252 text; nothing was changed."
                ) from None
        try:
            with transaction.atomic():
                created, updated = organisations_import(stream=io.StringIO(text))
                if dry_run:
                    transaction.set_rollback(True)
        except OrganisationImportError as exc:
            raise CommandError("Nothing was changed:\n" + "\n".join(exc.errors)) from exc
        prefix = "Dry run: would have " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{created} created, {updated} updated."))


def _is_cp1252(raw):
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True
