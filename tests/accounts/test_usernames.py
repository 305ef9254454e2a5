"""Usernames: Welsh letters folded, collisions numbered, never reissued, safe under concurrency."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from accounts.models import IssuedUsername, UsernameCounter
from accounts.usernames import (
    fold,
    username_allocate,
    username_base,
    usernames_allocate_bulk,
    usernames_reserve,
)

ROOT = Path(__file__).resolve().parents[2]


class TestFolding:
    @pytest.mark.parametrize(
        ("text", "folded"),
        [
            ("Ŵyn", "Wyn"),
            ("Llŷr", "Llyr"),
            ("Siân", "Sian"),
            ("Gwenllïan", "Gwenllian"),
            ("O'Brien", "OBrien"),
            ("ap Rhys", "apRhys"),
            ("Jones-Williams", "JonesWilliams"),
            ("Zoë", "Zoe"),
            ("Łukasz", "Lukasz"),
            ("Ní Bhriain", "NiBhriain"),
            ("Straße", "Strasse"),
            ("D’Arcy", "DArcy"),
            ("Hâf 2", "Haf"),
        ],
    )
    def test_it_folds_to_ascii_letters(self, text, folded):
        assert fold(text) == folded

    def test_the_base_is_surname_then_initial(self):
        assert username_base("Joe", "Bloggs") == "BloggsJ"
        assert username_base("Ŵyn", "ap Rhys") == "ApRhysW"
        assert username_base("Llŷr", "O'Brien") == "OBrienL"

    def test_long_surnames_are_bounded(self, settings):
        base = username_base("Anna", "Wolfeschlegelsteinhausenbergerdorff")
        assert len(base) + 4 <= settings.UMP_USERNAME_MAX_LENGTH
        assert base.endswith("A")

    def test_names_with_no_letters_still_give_a_username(self):
        assert username_base("", "'-") == "UserX"


@pytest.mark.django_db
class TestAllocation:
    def test_collisions_get_numbers(self):
        names = [username_allocate(forename="Siân", surname="Jones") for _ in range(3)]
        assert names == ["JonesS", "JonesS2", "JonesS3"]

    def test_allocation_is_case_insensitive(self):
        IssuedUsername.objects.create(username_lower="jonesd", base_lower="jonesd")
        assert username_allocate(forename="dafydd", surname="JONES") == "JonesD2"

    def test_a_username_is_never_reissued(self):
        first = username_allocate(forename="Siân", surname="Jones")
        # The account is gone but the name stays claimed.
        assert IssuedUsername.objects.filter(username_lower=first.lower()).exists()
        assert username_allocate(forename="Sara", surname="Jones") == "JonesS2"

    def test_bulk_allocation_numbers_within_the_batch_and_after_existing(self):
        username_allocate(forename="Osian", surname="Evans")
        result = usernames_allocate_bulk([("Owain", "Evans"), ("Olivia", "Evans"), ("Ŵyn", "ap Rhys")])
        assert result == ["EvansO2", "EvansO3", "ApRhysW"]
        assert IssuedUsername.objects.count() == 4


ALLOCATE = """
import json, sys, django
django.setup()
from django.db import transaction
from accounts.usernames import username_allocate, usernames_allocate_bulk
single = [username_allocate(forename="Siân", surname="Jones") for _ in range(15)]
with transaction.atomic():
    bulk = usernames_allocate_bulk([("Sara", "Jones")] * 15)
print(json.dumps(single + bulk))
"""


@pytest.mark.postgres_only(reason="two processes on one database: row locks")
@pytest.mark.django_db(transaction=True)
def test_two_processes_allocating_at_once_never_share_a_username():
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ump.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ALLOCATE],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results += json.loads(out)
    assert len(results) == 60
    assert len({r.lower() for r in results}) == 60
    assert IssuedUsername.objects.count() == 60


@pytest.mark.django_db
class TestNumbering:
    def test_a_contiguous_base_continues_after_its_highest_number(self, django_assert_max_num_queries):
        usernames_allocate_bulk([("Dafydd", "Jones")] * 5)
        with django_assert_max_num_queries(4):
            assert usernames_allocate_bulk([("Dai", "Jones")]) == ["JonesD6"]

    def test_a_gap_is_filled_and_numbers_are_recorded(self):
        IssuedUsername.objects.create(username_lower="jonesd", base_lower="jonesd", number=1)
        IssuedUsername.objects.create(username_lower="jonesd3", base_lower="jonesd", number=3)
        assert usernames_allocate_bulk([("Dai", "Jones"), ("Del", "Jones")]) == ["JonesD2", "JonesD4"]
        assert username_allocate(forename="Dyfed", surname="Jones") == "JonesD5"
        assert IssuedUsername.objects.get(username_lower="jonesd4").number == 4


@pytest.mark.django_db(transaction=True)
class TestReservation:
    @pytest.mark.postgres_only(reason="username reservations")
    def test_reservations_are_disjoint_and_continue_after_what_was_issued(self):
        usernames_allocate_bulk([("Dafydd", "Jones")] * 3)
        first = usernames_reserve({"JonesD": 2, "EvansO": 1})
        second = usernames_reserve({"JonesD": 2})
        assert (list(first["jonesd"]), list(first["evanso"]), list(second["jonesd"])) == ([4, 5], [1], [6, 7])

    @pytest.mark.postgres_only(reason="username reservations")
    def test_a_reservation_commits_at_once_and_an_unused_number_stays_a_gap(self):
        reserved = usernames_reserve({"JonesD": 2})
        assert UsernameCounter.objects.get(base_lower="jonesd").top == 2  # seen by every other connection
        assert usernames_allocate_bulk([("Dai", "Jones")], reserved=reserved) == ["JonesD"]
        assert list(reserved["jonesd"]) == [2]  # consumed by the claim
        # a later reservation never hands out the number this run left unused
        assert list(usernames_reserve({"JonesD": 1})["jonesd"]) == [3]

    @pytest.mark.postgres_only(reason="username reservations")
    def test_names_issued_without_a_reservation_are_never_reserved(self):
        usernames_reserve({"JonesD": 1})
        usernames_allocate_bulk([("Dai", "Jones")] * 4)  # no reservation: JonesD..JonesD4 (1 was never used)
        assert list(usernames_reserve({"JonesD": 1})["jonesd"]) == [5]

    def test_a_reserved_name_taken_meanwhile_is_numbered_afresh(self):
        reserved = usernames_reserve({"JonesD": 1})
        IssuedUsername.objects.create(username_lower="jonesd", base_lower="jonesd", number=1)
        assert usernames_allocate_bulk([("Dai", "Jones")], reserved=reserved) == ["JonesD2"]


@pytest.mark.django_db
def test_inside_a_transaction_nothing_is_reserved():
    assert usernames_reserve({"JonesD": 2}) == {}
    assert not UsernameCounter.objects.exists()
