"""Sealing with a key ring, re-sealing under a new key, and keyed hashing of UPNs."""

import base64

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts import sealing

OLD = sealing.generate_key()
NEW = sealing.generate_key()


class TestSealing:
    def test_a_sealed_value_opens_again(self, settings):
        settings.UMP_SEAL_KEYS = [NEW]
        token = sealing.seal("Dyfrgi47 ŵ")
        assert "Dyfrgi47" not in token
        assert sealing.unseal(token) == "Dyfrgi47 ŵ"

    def test_each_seal_is_different(self, settings):
        settings.UMP_SEAL_KEYS = [NEW]
        assert sealing.seal("same") != sealing.seal("same")

    def test_many_values_sealed_at_once_each_open_again_with_their_own_nonce(self, settings):
        settings.UMP_SEAL_KEYS = [NEW]
        texts = ["Siân", "Llŷr", "Gwenllïan"] * 100
        tokens = sealing.seal_many(texts)
        assert [sealing.unseal(t) for t in tokens] == texts
        nonces = {base64.urlsafe_b64decode(t.split(".", 2)[2])[:12] for t in tokens}
        assert len(nonces) == len(texts)

    def test_a_tampered_token_is_refused(self, settings):
        settings.UMP_SEAL_KEYS = [NEW]
        token = sealing.seal("secret")
        head, payload = token.rsplit(".", 1)
        flipped = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
        with pytest.raises(sealing.SealError):
            sealing.unseal(f"{head}.{flipped}")

    def test_old_keys_still_open_and_reseal_moves_to_the_newest(self, settings):
        settings.UMP_SEAL_KEYS = [OLD]
        token = sealing.seal("Telyn-88")
        settings.UMP_SEAL_KEYS = [NEW, OLD]
        assert sealing.unseal(token) == "Telyn-88"
        resealed = sealing.reseal(token)
        assert resealed is not None and sealing.reseal(resealed) is None
        settings.UMP_SEAL_KEYS = [NEW]
        assert sealing.unseal(resealed) == "Telyn-88"
        with pytest.raises(sealing.SealError):
            sealing.unseal(token)

    def test_a_bad_key_is_refused_loudly(self, settings):
        settings.UMP_SEAL_KEYS = ["too-short"]
        with pytest.raises(ImproperlyConfigured):
            sealing.seal("x")

    @pytest.mark.parametrize("token", ["", "v1.only", "v2.abc.def", "v1.abcd.!!!"])
    def test_malformed_tokens_are_refused(self, token, settings):
        settings.UMP_SEAL_KEYS = [NEW]
        with pytest.raises(sealing.SealError):
            sealing.unseal(token)


class TestKeyedHash:
    def test_the_upn_hash_ignores_case_and_spaces_and_hides_the_upn(self, settings):
        settings.UMP_HASH_KEY = "k" * 32
        digest = sealing.upn_hash("B801200005001")
        assert digest == sealing.upn_hash(" b8012 00005001 ")
        assert "801200005001" not in digest and len(digest) == 64

    def test_the_hash_depends_on_the_key(self, settings):
        settings.UMP_HASH_KEY = "k" * 32
        first = sealing.upn_hash("B801200005001")
        settings.UMP_HASH_KEY = "j" * 32
        assert sealing.upn_hash("B801200005001") != first


def test_settings_refuse_to_start_without_keys(monkeypatch):
    import importlib

    import ump.settings

    monkeypatch.setenv("UMP_SEAL_KEYS", "")
    monkeypatch.setattr("environ.Env.read_env", lambda *a, **k: None)
    with pytest.raises(ImproperlyConfigured):
        importlib.reload(ump.settings)
    monkeypatch.undo()
    importlib.reload(ump.settings)
