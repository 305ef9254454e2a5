"""run_create: an extract is copied to the upload folder in chunks, capped, and never left half-written."""

import io
import os
import stat
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from accounts.sealing import sealed_file_read
from provisioning.models import ProvisioningRun
from provisioning.runs import CHUNK_BYTES, ExtractTooLarge, run_create

from .extracts import pupil, pupils_csv

pytestmark = pytest.mark.django_db


class ChunkedOnly(io.BytesIO):
    """A file object that refuses to be read whole, and records how it was read."""

    def __init__(self, data, *, fail_after=None):
        super().__init__(data)
        self.reads = []
        self.fail_after = fail_after

    def read(self, size=-1):
        assert size is not None and 0 < size <= CHUNK_BYTES, f"read({size}) would load the whole file"
        if self.fail_after is not None and len(self.reads) >= self.fail_after:
            raise OSError("the client went away")
        self.reads.append(size)
        return super().read(size)


def kept(settings):
    folder = settings.UMP_UPLOAD_DIR
    return sorted(folder.iterdir()) if folder.exists() else []


class RunCreateTests:
    def test_it_copies_a_file_object_in_chunks(self, wales, settings):
        data = b"x" * (3 * CHUNK_BYTES + 12345)
        source = ChunkedOnly(data)
        run = run_create(organisation=wales.secondary, data=source, source="command")
        assert len(source.reads) >= 4
        assert run.file_size == len(data)
        assert sealed_file_read(Path(run.file_path)) == data

    def test_the_copy_is_readable_only_by_the_portal(self, wales):
        run = run_create(
            organisation=wales.secondary, data=ChunkedOnly(pupils_csv([pupil(1)])), source="command"
        )
        with open(run.file_path, "rb") as copy:
            assert stat.S_IMODE(os.fstat(copy.fileno()).st_mode) == 0o600

    def test_it_takes_an_uploaded_file_in_memory_or_on_disk(self, wales):
        data = pupils_csv([pupil(1), pupil(2)])
        on_disk = TemporaryUploadedFile("pupils.csv", "text/csv", len(data), None)
        on_disk.write(data)
        for upload in (SimpleUploadedFile("pupils.csv", data), on_disk):
            run = run_create(organisation=wales.secondary, data=upload, source="api")
            assert run.file_size == len(data)
            assert sealed_file_read(Path(run.file_path)) == data
        on_disk.close()

    def test_it_still_takes_bytes(self, wales):
        data = pupils_csv([pupil(1)])
        run = run_create(organisation=wales.secondary, data=data, source="command")
        assert run.file_size == len(data) and run.status == "queued"

    def test_over_the_cap_it_deletes_the_partial_copy_and_queues_nothing(
        self, wales, settings, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ExtractTooLarge):
            run_create(
                organisation=wales.secondary,
                data=ChunkedOnly(b"x" * (2 * CHUNK_BYTES + 1)),
                source="api",
                max_bytes=2 * CHUNK_BYTES,
            )
        assert callbacks == []
        assert not ProvisioningRun.objects.exists() and kept(settings) == []

    def test_exactly_the_cap_is_accepted(self, wales):
        run = run_create(
            organisation=wales.secondary,
            data=ChunkedOnly(b"x" * CHUNK_BYTES),
            source="api",
            max_bytes=CHUNK_BYTES,
        )
        assert run.file_size == CHUNK_BYTES

    def test_bytes_over_the_cap_are_refused_too(self, wales, settings):
        with pytest.raises(ExtractTooLarge):
            run_create(organisation=wales.secondary, data=b"x" * 11, source="command", max_bytes=10)
        assert not ProvisioningRun.objects.exists() and kept(settings) == []

    def test_an_upload_broken_off_part_way_leaves_nothing(self, wales, settings):
        with pytest.raises(OSError, match="went away"):
            run_create(
                organisation=wales.secondary,
                data=ChunkedOnly(b"x" * (3 * CHUNK_BYTES), fail_after=1),
                source="api",
            )
        assert not ProvisioningRun.objects.exists() and kept(settings) == []

    def test_the_provision_command_still_applies_a_file(self, wales, tmp_path):
        from django.core.management import call_command

        path = tmp_path / "pupils.csv"
        data = pupils_csv([pupil(1)])
        path.write_bytes(data)
        call_command("provision", str(path), "--school", wales.secondary.code, "--json")
        run = ProvisioningRun.objects.get()
        assert (run.status, run.created, run.file_size) == ("applied", 1, len(data))
