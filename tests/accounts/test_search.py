"""View Users search finds Welsh and Irish names however they are typed, on PostgreSQL and SQLite alike."""

import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from accounts.selectors import account_list
from accounts.text import SEARCH_IGNORED, search_fold, search_name
from tests.factories import learner

NAMES = [
    ("Ŵyn", "Roberts"),
    ("Gethin", "Ŵyn-Pŷr"),
    ("Noël", "Evans"),
    ("Aoife", "Ní Bhriain"),
    ("Llŷr", "O'Brien"),
    ("Siân", "Jones-Williams"),
    ("Dafydd", "Hughes"),
]


class SearchFoldTests:
    @pytest.mark.parametrize(
        ("text", "folded"),
        [
            ("Ŵyn-Pŷr", "wynpyr"),
            ("Ní Bhriain", "nibhriain"),
            ("O’Brien", "obrien"),
            ("O'Brien", "obrien"),
            ("Noël", "noel"),
            ("Łukasz Strauß", "lukaszstrauss"),
        ],
    )
    def test_it_drops_accents_case_spaces_hyphens_and_apostrophes(self, text, folded):
        assert search_fold(text) == folded

    def test_a_name_is_searchable_both_ways_round(self):
        assert search_name("Elin", "ap Rhys") == "elinaprhys aprhyselin"


@pytest.mark.django_db
class AccountSearchTests:
    @pytest.fixture
    def learners(self, wales):
        return {
            f"{forename} {surname}": learner(wales.secondary, legal_forename=forename, legal_surname=surname)
            for forename, surname in NAMES
        }

    def found(self, digital_champion, wales, term):
        accounts = account_list(
            actor=digital_champion, section="learners", organisation=wales.secondary, search=term
        )
        return {f"{a.legal_forename} {a.legal_surname}" for a in accounts}

    @pytest.mark.parametrize(
        ("term", "expected"),
        [
            ("Wyn", {"Ŵyn Roberts", "Gethin Ŵyn-Pŷr"}),
            ("ŵyn", {"Ŵyn Roberts", "Gethin Ŵyn-Pŷr"}),
            ("wyn pyr", {"Gethin Ŵyn-Pŷr"}),
            ("Noel", {"Noël Evans"}),
            ("Ni Bhriain", {"Aoife Ní Bhriain"}),
            ("nibhriain", {"Aoife Ní Bhriain"}),
            ("OBrien", {"Llŷr O'Brien"}),
            ("o’brien", {"Llŷr O'Brien"}),
            ("Jones Williams", {"Siân Jones-Williams"}),
            ("SIAN", {"Siân Jones-Williams"}),
            ("Sian Jones", {"Siân Jones-Williams"}),
            ("Hughes Dafydd", {"Dafydd Hughes"}),
            ("zzz", set()),
        ],
    )
    def test_it_finds_names_whatever_the_accents_case_and_punctuation(
        self, learners, digital_champion, wales, term, expected
    ):
        assert self.found(digital_champion, wales, term) == expected

    def test_usernames_and_admission_numbers_are_still_found(self, learners, digital_champion, wales):
        account = learners["Dafydd Hughes"]
        assert self.found(digital_champion, wales, account.username.upper()) == {"Dafydd Hughes"}
        assert self.found(digital_champion, wales, account.admission_number) == {"Dafydd Hughes"}

    def test_punctuation_alone_searches_nothing_by_name(self, learners, digital_champion, wales):
        assert self.found(digital_champion, wales, " - ") == set()

    def test_a_renamed_account_is_found_by_its_new_name(self, learners, digital_champion, wales):
        account = learners["Dafydd Hughes"]
        Account.objects.filter(pk=account.pk).update(legal_forename="Dafydd", legal_surname="Ó Súilleabháin")
        assert self.found(digital_champion, wales, "O Suilleabhain") == {"Dafydd Ó Súilleabháin"}

    def test_the_query_reads_the_stored_fold_and_folds_nothing_per_row(
        self, learners, digital_champion, wales
    ):
        with CaptureQueriesContext(connection) as queries:
            self.found(digital_champion, wales, "Wyn")
        sql = queries.captured_queries[-1]["sql"]
        assert '"search_name"' in sql and "ump_search_name" not in sql and "unaccent" not in sql


@pytest.mark.django_db
@pytest.mark.postgres_only(reason="PostgreSQL folds with unaccent; SQLite uses accounts.text itself")
class EnginesAgreeTests:
    def test_postgresql_folds_every_latin_letter_as_python_does(self):
        letters = [chr(cp) for cp in range(0xC0, 0x180) if chr(cp).isalpha() and chr(cp) not in "ĸŉ"]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c, ump_search_name(c, '') FROM unnest(%s::text[]) AS c", [[*letters, *SEARCH_IGNORED]]
            )
            folded = dict(cursor.fetchall())
        wrong = {c: (folded[c], search_name(c, "")) for c in folded if folded[c] != search_name(c, "")}
        assert not wrong

    def test_the_migration_ignores_what_search_fold_ignores(self):
        migration = importlib.import_module("accounts.migrations.0010_account_search_name")
        assert migration.SEARCH_IGNORED == SEARCH_IGNORED
