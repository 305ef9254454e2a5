import re

import pytest
from django.contrib.auth.password_validation import validate_password

from passwords import generators
from passwords.words import WORDS


class WordListTests:
    @pytest.mark.parametrize("language", ["en", "cy"])
    def test_every_word_is_short_plain_and_unambiguous(self, language):
        words = WORDS[language]
        assert len(words) >= 100
        assert len(set(words)) == len(words)
        for word in words:
            assert re.fullmatch(r"[a-z]{4,8}", word), word
            assert "l" not in word, word
            assert not word.startswith("i"), word

    def test_the_welsh_list_is_not_the_english_list(self):
        assert len(set(WORDS["cy"]) - set(WORDS["en"])) > 100


class LearnerPasswordTests:
    def test_it_is_two_capitalised_words_then_digits(self):
        for _ in range(500):
            password = generators.learner_password()
            match = re.fullmatch(r"([A-Z][a-z]+)([A-Z][a-z]+)([2-9]+)", password)
            assert match, password
            assert match.group(1).lower() in WORDS["en"] and match.group(2).lower() in WORDS["en"]
            assert len(match.group(3)) == generators.learner_digits(len(WORDS["en"])) >= 2
            assert len(password) >= 8

    @pytest.mark.parametrize("language", ["en", "cy"])
    def test_there_are_at_least_2_to_the_20_possibilities(self, language):
        words = WORDS[language]
        digits = generators.learner_digits(len(words))
        assert generators.learner_possibilities(language) == len(words) ** 2 * 8**digits >= 2**20
        assert len(words) ** 2 * 8 ** (digits - 1) < 2**20 or digits == 2  # no more digits than needed

    def test_the_digits_grow_only_when_the_list_is_short(self):
        assert generators.learner_digits(128) == 2  # 128 * 128 * 64 = 2**20
        assert generators.learner_digits(127) == 3

    def test_it_uses_welsh_words_in_welsh(self):
        words = {
            re.match(r"[A-Z][a-z]+", generators.learner_password(language="cy")).group().lower()
            for _ in range(300)
        }
        assert words <= set(WORDS["cy"])
        assert words - set(WORDS["en"])

    def test_an_unknown_language_falls_back_to_english(self):
        word = re.match(r"[A-Z][a-z]+", generators.learner_password(language="fr")).group().lower()
        assert word in WORDS["en"]

    def test_it_never_contains_a_look_alike_digit(self):
        assert not any(set(generators.learner_password()) & {"0", "1"} for _ in range(500))

    def test_draws_vary(self):
        assert len({generators.learner_password() for _ in range(200)}) > 150


class RandomPasswordTests:
    def test_it_has_every_class_and_no_look_alikes(self):
        for _ in range(500):
            password = generators.random_password()
            assert len(password) == 12
            assert any(c.isupper() for c in password)
            assert any(c.islower() for c in password)
            assert any(c.isdigit() for c in password)
            assert not set(password) & generators.LOOK_ALIKES, password

    def test_it_refuses_to_be_shorter_than_ten(self):
        with pytest.raises(ValueError):
            generators.random_password(length=9)
        assert len(generators.random_password(length=10)) == 10

    def test_the_guaranteed_classes_are_not_always_in_front(self):
        firsts = {generators.random_password()[0].isupper() for _ in range(100)}
        assert firsts == {True, False}


def test_almost_every_draw_passes_the_policy_without_a_user():
    """The service redraws on refusal; this shows a redraw is rare, so the loop ends quickly."""
    refused = 0
    for _ in range(300):
        for password in (generators.learner_password(), generators.random_password()):
            try:
                validate_password(password)
            except Exception:
                refused += 1
    assert refused < 10


class DrawsTests:
    def test_values_stay_below_the_bound_and_cover_it(self):
        draws = generators.Draws(64)
        seen = {draws.below(7) for _ in range(2000)}
        assert seen == set(range(7))

    def test_the_top_partial_range_is_drawn_again_so_no_value_is_likelier(self, monkeypatch):
        # 2**64 - 1 lies in the partial range above the last whole multiple of 3: it is thrown away
        blocks = iter([b"\xff" * 8 + (5).to_bytes(8, "little")])
        monkeypatch.setattr(generators.os, "urandom", lambda n: next(blocks))
        assert generators.Draws(16).below(3) == 2

    def test_one_read_of_the_system_serves_many_passwords(self, monkeypatch):
        reads = []
        real = generators.os.urandom
        monkeypatch.setattr(generators.os, "urandom", lambda n: reads.append(n) or real(n))
        draws = generators.Draws()
        passwords = [generators.learner_password(draws=draws) for _ in range(100)]
        assert len(reads) <= 2
        assert len(set(passwords)) > 90


def test_the_welsh_reviewers_words_are_gone_or_spelt_right():
    """gwdihw wants its to bach (the list leaves those out), gwydd is gŵydd, ruban is rhuban, and moron reads
    as an insult in English on a slip."""
    welsh = set(WORDS["cy"])
    assert not welsh & {"gwdihw", "gwydd", "ruban", "moron", "moronen"}
    assert "rhuban" in welsh
