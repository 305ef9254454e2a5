"""Sealed files: written and read in chunks, refused when changed or cut short, re-sealed by rotate_keys."""

import gc
import sys
import tracemalloc

import pytest
from django.core.management import call_command

from accounts import sealing

OLD = sealing.generate_key()
NEW = sealing.generate_key()
CHUNK = sealing.FILE_CHUNK


def seal_to(path, data, piece=64 * 1024):
    with path.open("xb") as fh:
        writer = sealing.SealedFileWriter(fh)
        for n in range(0, len(data), piece):
            writer.write(data[n : n + piece])
        writer.close()
    return path


@pytest.fixture
def store(tmp_path):
    """A sealed store registered as a feature app would, and removed again."""
    folder = tmp_path / "store"
    folder.mkdir()
    sealing.sealed_store_register("test store", lambda: sorted(folder.iterdir()))
    yield folder
    sealing._SEALED_STORES.pop("test store")


class SealedFileTests:
    @pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 12345])
    def test_what_is_sealed_opens_again_whatever_its_size(self, settings, tmp_path, size):
        settings.UMP_SEAL_KEYS = [NEW]
        data = bytes(range(256)) * (size // 256) + b"U" * (size % 256)
        path = seal_to(tmp_path / "f", data)
        assert sealing.sealed_file_read(path) == data
        assert all(len(c) <= CHUNK for c in sealing.sealed_file_chunks(path))

    def test_it_opens_as_a_stream_read_in_any_sizes(self, settings, tmp_path):
        settings.UMP_SEAL_KEYS = [NEW]
        data = bytes(range(256)) * (3 * CHUNK // 256) + b"tail"
        path = seal_to(tmp_path / "f", data)
        with sealing.sealed_file_open(path) as stream:
            head = stream.read(10)
            lines = stream.read(CHUNK + 3)
            rest = stream.read()
        assert head + lines + rest == data

    @pytest.mark.parametrize("size", [0, 5, CHUNK, 3 * CHUNK + 123])
    def test_the_stream_seeks_and_reads_any_part(self, settings, tmp_path, size):
        # a zip is read from its end first: the stream opens whichever chunk holds the position
        settings.UMP_SEAL_KEYS = [NEW]
        data = bytes(range(256)) * (size // 256) + b"U" * (size % 256)
        path = seal_to(tmp_path / "f", data)
        with sealing.sealed_file_open(path) as stream:
            assert stream.seek(0, 2) == size
            for start, length in ((max(size - 4, 0), 4), (CHUNK - 5, 10), (2 * CHUNK + 7, CHUNK), (0, size)):
                stream.seek(start)
                assert stream.read(length) == data[start : start + length]

    @pytest.mark.parametrize(
        "damage",
        [
            lambda raw: raw[: len(raw) - (len(raw) - 22) % (CHUNK + 16)],  # the last chunk lost whole
            lambda raw: raw[:-1],  # cut short
            lambda raw: raw[:-5] + bytes([raw[-5] ^ 1]) + raw[-4:],  # a changed byte in the last chunk
        ],
    )
    def test_a_stream_read_from_its_end_still_finds_the_file_cut_or_changed(self, settings, tmp_path, damage):
        settings.UMP_SEAL_KEYS = [NEW]
        path = seal_to(tmp_path / "f", b"z" * (2 * CHUNK + 100))
        path.write_bytes(damage(path.read_bytes()))
        with pytest.raises(sealing.SealError), sealing.sealed_file_open(path) as stream:
            stream.seek(-10, 2)
            stream.read()

    def test_the_file_holds_no_plaintext(self, settings, tmp_path):
        settings.UMP_SEAL_KEYS = [NEW]
        data = b"Jones,Dafydd,A681400100001\r\n" * 5000
        path = seal_to(tmp_path / "f", data)
        assert b"A681400100001" not in path.read_bytes() and b"Dafydd" not in path.read_bytes()

    def test_a_large_file_is_sealed_and_opened_without_holding_it_whole(self, settings, tmp_path):
        settings.UMP_SEAL_KEYS = [NEW]
        size = 24 * 1024 * 1024
        tracemalloc.start()
        with (tmp_path / "big").open("xb") as fh:
            writer = sealing.SealedFileWriter(fh)
            for _n in range(size // (1024 * 1024)):
                writer.write(b"x" * (1024 * 1024))
            writer.close()
        read = sum(len(c) for c in sealing.sealed_file_chunks(tmp_path / "big"))
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert read == size
        assert peak < 6 * 1024 * 1024, f"peak {peak} bytes"

    @pytest.mark.parametrize(
        "damage",
        [
            lambda raw: raw[:-1],  # cut short
            lambda raw: raw[: -(sealing.FILE_CHUNK // 2)],  # the last chunk lost part-way
            lambda raw: raw[: len(raw) - (len(raw) - 22) % (CHUNK + 16)],  # the last chunk lost whole
            lambda raw: raw[:30] + bytes([raw[30] ^ 1]) + raw[31:],  # a changed byte
            lambda raw: raw[:6] + b"00000000" + raw[14:],  # another key id in the header
            lambda raw: b"plain,text\r\n",  # never sealed
        ],
    )
    def test_a_changed_or_cut_short_file_is_refused(self, settings, tmp_path, damage):
        settings.UMP_SEAL_KEYS = [NEW]
        path = seal_to(tmp_path / "f", b"z" * (2 * CHUNK + 100))
        path.write_bytes(damage(path.read_bytes()))
        with pytest.raises(sealing.SealError):
            sealing.sealed_file_read(path)

    def test_a_file_under_a_key_no_longer_in_the_ring_is_refused(self, settings, tmp_path):
        settings.UMP_SEAL_KEYS = [OLD]
        path = seal_to(tmp_path / "f", b"data")
        settings.UMP_SEAL_KEYS = [NEW]
        with pytest.raises(sealing.SealError):
            sealing.sealed_file_read(path)


class RotateSealedFilesTests:
    def test_rotate_keys_reseals_every_registered_store_and_dry_run_writes_nothing(
        self, settings, store, capsys, db
    ):
        settings.UMP_SEAL_KEYS = [OLD]
        data = b"y" * (CHUNK + 7)
        old_file = seal_to(store / "a.extract", data)
        before = old_file.read_bytes()
        settings.UMP_SEAL_KEYS = [NEW, OLD]
        seal_to(store / "b.extract", data)  # already under the newest key

        call_command("rotate_keys", "--dry-run")
        assert "1 values would be re-sealed" in capsys.readouterr().out
        assert old_file.read_bytes() == before

        call_command("rotate_keys")
        assert "1 values re-sealed" in capsys.readouterr().out
        settings.UMP_SEAL_KEYS = [NEW]
        assert sealing.sealed_file_read(old_file) == data
        assert sealing.sealed_file_key(old_file) == sealing.key_id(sealing._decode_key(NEW))
        assert sorted(p.name for p in store.iterdir()) == ["a.extract", "b.extract"]

    def test_a_file_no_key_opens_is_reported_and_left_alone(self, settings, store, capsys, db):
        settings.UMP_SEAL_KEYS = [OLD]
        path = seal_to(store / "a.extract", b"data")
        before = path.read_bytes()
        settings.UMP_SEAL_KEYS = [NEW]
        call_command("rotate_keys")
        assert "1 could not be opened" in capsys.readouterr().out
        assert path.read_bytes() == before


def test_a_missing_file_fails_to_open_and_leaves_nothing_to_clean_up(tmp_path, monkeypatch):
    """The half-made stream's close (run again by the garbage collector) must not raise in its turn."""
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(FileNotFoundError):
        sealing.sealed_file_open(tmp_path / "gone.extract")
    gc.collect()
    assert not unraisable, [str(u.exc_value) for u in unraisable]
