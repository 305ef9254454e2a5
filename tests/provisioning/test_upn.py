from provisioning.upn import UpnStatus, upn_check_letter, upn_make, upn_normalise, upn_status


class UpnTests:
    def test_it_accepts_the_published_permanent_vectors(self):
        assert upn_status("B801200005001") is UpnStatus.PERMANENT
        assert upn_status("P207000016049") is UpnStatus.PERMANENT

    def test_it_finds_a_wrong_check_letter(self):
        assert upn_status("A801200005001") is UpnStatus.WRONG_CHECK_LETTER
        # the letter a widely copied guide gives
        assert upn_status("Q207000016049") is UpnStatus.WRONG_CHECK_LETTER

    def test_it_knows_a_temporary_upn(self):
        assert upn_status("X00180001701A") is UpnStatus.TEMPORARY

    def test_it_refuses_malformed_numbers(self):
        for value in (
            "",
            "B80120000500",
            "B8012000050011",
            "I801200005001",
            "B80120000500O",
            "b801200005001",
        ):
            assert upn_status(value) is UpnStatus.MALFORMED, value

    def test_it_computes_the_letter_for_a_body(self):
        assert upn_check_letter("801200005001") == "B"
        assert upn_check_letter("00180001701A") == "X"

    def test_made_upns_are_valid_and_welsh(self):
        upn = upn_make(681, 4001, 2019, 7)
        assert upn[1:4] == "681"
        assert upn_status(upn) is UpnStatus.PERMANENT

    def test_it_normalises_spaces_and_case(self):
        assert upn_normalise(" b801 2000 05001 ") == "B801200005001"
