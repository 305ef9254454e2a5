from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from passwords.validators import BlocklistValidator, HwbComplexityValidator, PersonalDataValidator


def codes(validator, password, user=None):
    try:
        validator.validate(password, user)
    except ValidationError as error:
        return {e.code for e in error.error_list}
    return set()


class HwbComplexityTests:
    def test_it_accepts_eight_characters_with_every_class(self):
        assert codes(HwbComplexityValidator(), "Otter472") == set()

    @pytest.mark.parametrize(
        ("password", "expected"),
        [
            ("Otter47", {"password_too_short"}),
            ("otter472", {"password_no_upper"}),
            ("OTTER472", {"password_no_lower"}),
            ("Otterbanana", {"password_no_digit"}),
            ("abc", {"password_too_short", "password_no_upper", "password_no_digit"}),
        ],
    )
    def test_it_names_every_rule_broken(self, password, expected):
        assert codes(HwbComplexityValidator(), password) == expected

    def test_the_length_is_configurable(self):
        assert codes(HwbComplexityValidator(min_length=10), "Otter4723") == {"password_too_short"}

    def test_messages_are_in_welsh_for_welsh_users(self):
        with translation.override("cy"):
            with pytest.raises(ValidationError) as caught:
                HwbComplexityValidator().validate("abc")
            help_text = HwbComplexityValidator().get_help_text()
        assert caught.value.messages == [
            "Rhaid i'ch cyfrinair fod o leiaf 8 nod o hyd.",
            "Rhaid i'ch cyfrinair gynnwys o leiaf un briflythyren.",
            "Rhaid i'ch cyfrinair gynnwys o leiaf un rhif.",
        ]
        assert help_text.startswith("Rhaid i'ch cyfrinair fod o leiaf 8 nod")

    def test_every_rule_has_a_welsh_message(self):
        refusals = [
            (HwbComplexityValidator(), "abc", None),
            (BlocklistValidator(), "Password1", None),
            (PersonalDataValidator(), "Jones2024x", PersonalDataTests.siân),
        ]
        for validator, password, user in refusals:
            with translation.override("en"), pytest.raises(ValidationError) as english:
                validator.validate(password, user)
            with translation.override("cy"), pytest.raises(ValidationError) as welsh:
                validator.validate(password, user)
            assert set(english.value.messages).isdisjoint(welsh.value.messages)


class BlocklistTests:
    @pytest.mark.parametrize(
        "password",
        [
            "Password1",
            "password123",
            "P@ssw0rd1!",
            "Croeso123",
            "Cymru2024",
            "Hwbcymru1",
            "Ysgol2025!",
            "qwerty123",
        ],
    )
    def test_it_refuses_common_and_school_passwords(self, password):
        assert codes(BlocklistValidator(), password) == {"password_too_common"}

    @pytest.mark.parametrize("password", ["Otter472", "Draenog358", "Xk7pQr2mWz9a"])
    def test_it_accepts_uncommon_ones(self, password):
        assert codes(BlocklistValidator(), password) == set()


class PersonalDataTests:
    siân = SimpleNamespace(
        username="JonesS@hwbcymru.net", legal_forename="Siân", legal_surname="Jones", display_name="Siân J"
    )

    @pytest.mark.parametrize("password", ["Jones2024x", "SIAN12345", "sian-Rocks9", "Xjoness99", "Mysiân123"])
    def test_it_refuses_a_password_containing_a_name_or_username(self, password):
        assert codes(PersonalDataValidator(), password, self.siân) == {
            "password_contains_personal_information"
        }

    def test_it_ignores_parts_too_short_to_mean_anything(self):
        jo = SimpleNamespace(username="LiJ", legal_forename="Jo", legal_surname="Li", display_name="Jo L")
        assert codes(PersonalDataValidator(), "Jolly7Lizard", jo) == set()

    def test_it_accepts_an_unrelated_password_and_no_user(self):
        assert codes(PersonalDataValidator(), "Otter472", self.siân) == set()
        assert codes(PersonalDataValidator(), "Jones2024x", None) == set()

    def test_the_username_local_part_counts_as_a_whole(self):
        user = SimpleNamespace(
            username="ApD@hwbcymru.net", legal_forename="", legal_surname="", display_name=""
        )
        assert codes(PersonalDataValidator(), "xxApd9Y", user) == {"password_contains_personal_information"}
