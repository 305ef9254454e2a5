"""Re-seal every sealed value and sealed file under the newest key in UMP_SEAL_KEYS.

Rules: finds every SealedTextField in every installed model; re-seals values sealed under an older key,
in batches, each batch in its own transaction; values already under the newest key are left alone, so the
command can be run again after an interruption. Then every sealed file of every store a feature app registered
(accounts.sealing.sealed_store_register; provisioning's waiting extracts): each file under an older key is
re-sealed through a copy that replaces it. A value or file that cannot be opened (its key was removed from the
ring) is reported and left as it is. With --dry-run nothing is written.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.fields import SealedTextField
from accounts.sealing import SealError, reseal, ring, sealed_file_key, sealed_file_reseal, sealed_stores

BATCH = 2000


class Command(BaseCommand):
    help = "Re-seal every sealed value (shown passwords) and sealed file (extracts) under the newest key."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; write nothing.")

    def handle(self, *args, dry_run=False, verbosity=1, **options):
        total_resealed = total_failed = 0
        for model in apps.get_models():
            fields = [f.name for f in model._meta.get_fields() if isinstance(f, SealedTextField)]
            for field in fields:
                resealed, failed = self._rotate(model, field, dry_run)
                total_resealed += resealed
                total_failed += failed
                if verbosity >= 2:
                    self.stdout.write(
                        f"{model._meta.label}.{field}: {resealed} re-sealed, {failed} unreadable"
                    )
        for name, paths in sealed_stores().items():
            resealed, failed = self._rotate_files(paths(), dry_run)
            total_resealed += resealed
            total_failed += failed
            if verbosity >= 2:
                self.stdout.write(f"{name} (files): {resealed} re-sealed, {failed} unreadable")
        verb = "would be re-sealed" if dry_run else "re-sealed"
        self.stdout.write(
            self.style.SUCCESS(f"{total_resealed} values {verb}; {total_failed} could not be opened.")
        )
        if total_failed:
            self.stderr.write(
                "Values that could not be opened were sealed under a key no longer in UMP_SEAL_KEYS."
            )

    def _rotate(self, model, field, dry_run):
        resealed = failed = 0
        last_pk = None
        while True:
            qs = (
                model._default_manager.exclude(**{f"{field}__isnull": True})
                .exclude(**{field: ""})
                .order_by("pk")
            )
            if last_pk is not None:
                qs = qs.filter(pk__gt=last_pk)
            batch = list(qs.values_list("pk", field)[:BATCH])
            if not batch:
                return resealed, failed
            last_pk = batch[-1][0]
            updates = []
            for pk, token in batch:
                try:
                    new = reseal(token)
                except SealError:
                    failed += 1
                    continue
                if new is not None:
                    updates.append(model(pk=pk, **{field: new}))
            resealed += len(updates)
            if updates and not dry_run:
                with transaction.atomic():
                    model._default_manager.bulk_update(updates, [field], batch_size=BATCH)

    def _rotate_files(self, paths, dry_run):
        resealed = failed = 0
        known = [kid for kid, _cipher in ring()]
        for path in paths:
            try:
                kid = sealed_file_key(path)
                if kid == known[0]:
                    continue
                if kid not in known:
                    raise SealError("sealed under a key no longer in the ring")
                if not dry_run and not sealed_file_reseal(path):
                    continue
            except SealError:
                failed += 1
                continue
            except FileNotFoundError:
                continue  # its run finished meanwhile and deleted it
            resealed += 1
        return resealed, failed
