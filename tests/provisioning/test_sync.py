"""The sync: create, update, leave, return, move, rename notices, the brake, idempotence, atomicity."""

import threading
from datetime import date

import pytest
from django.db import connection, transaction

from accounts.models import Account, AuditEvent, IssuedUsername, UsernameCounter
from accounts.sealing import upn_hash
from provisioning import services
from provisioning.models import NameChangeNotice, OneRosterClass, OneRosterUser, ProvisioningRun
from provisioning.readers import read_extract
from provisioning.records import Reason
from provisioning.runs import run_apply, run_approve, run_create, run_reject
from provisioning.sync import apply as sync_apply
from provisioning.sync import extract_apply, rows
from tests.factories import learner
from tests.factories import staff as staff_account

from .conftest import TODAY
from .extracts import oneroster_zip, pupil, pupils_csv, staff, staff_csv, upn

pytestmark = pytest.mark.django_db


def apply(org, data, **kw):
    return extract_apply(
        organisation=org, extract=read_extract(data, school_code=org.code), today=TODAY, **kw
    )


def mis_learners(org):
    return Account.objects.filter(organisation=org, kind=Account.Kind.LEARNER, source=Account.Source.MIS)


class CreateTests:
    def test_it_creates_learners_with_usernames_and_no_upn(self, wales):
        report = apply(
            wales.secondary, pupils_csv([pupil(1, "Ap Iorwerth", "Llŷr"), pupil(2, "Ŵyn", "Siôn")])
        )
        assert report.created == 2 and not report.refused
        a = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (a.username, a.display_name, a.email) == ("ApIorwerthL", "Llŷr A", "apiorwerthl@hwbcymru.net")
        assert (a.kind, a.source, a.status, a.year_group, a.registration_group) == (
            "learner",
            "mis",
            "active",
            "7",
            "7A",
        )
        assert a.classes == ["7A/Ma1", "7A/Cy1"]
        assert not a.has_usable_password()
        assert Account.objects.get(upn_hash=upn_hash(upn(2))).username == "WynS"
        assert IssuedUsername.objects.get(username_lower="apiorwerthl").account_id == a.pk

    @pytest.mark.postgres_only(reason="reads every column through row_to_json")
    def test_the_upn_is_stored_nowhere(self, wales):
        apply(wales.secondary, pupils_csv([pupil(1), pupil(2, upn_value="A801200005001")]))
        with connection.cursor() as cursor:
            cursor.execute("SELECT row_to_json(a)::text FROM accounts_account a")
            rows = " ".join(r[0] for r in cursor.fetchall())
            cursor.execute("SELECT row_to_json(e)::text FROM accounts_auditevent e")
            rows += " ".join(r[0] for r in cursor.fetchall())
        assert upn(1) not in rows and "A801200005001" not in rows

    def test_colliding_names_get_numbered_usernames(self, wales):
        apply(
            wales.secondary,
            pupils_csv([pupil(1, "Jones", "Dafydd"), pupil(2, "Jones", "Dewi"), pupil(3, "Jônes", "Dai")]),
        )
        names = sorted(mis_learners(wales.secondary).values_list("username", flat=True))
        assert names == ["JonesD", "JonesD2", "JonesD3"]

    def test_new_accounts_get_a_sealed_initial_password(self, wales):
        from accounts.sealing import unseal
        from passwords.models import ShownPassword

        apply(wales.secondary, pupils_csv([pupil(1)]))
        apply(wales.secondary, staff_csv([staff("NEW", "Lloyd", "Nia")]))
        a = mis_learners(wales.secondary).get()
        learner_pw = unseal(ShownPassword.objects.get(account=a).sealed)
        assert learner_pw[0].isupper() and learner_pw[-2:].isdigit() and len(learner_pw) >= 8
        s = Account.objects.get(staff_code="NEW")
        assert len(unseal(ShownPassword.objects.get(account=s).sealed)) >= 10

    @pytest.mark.parametrize(("medium", "language"), [("welsh", "cy"), ("english", "en"), ("", "en")])
    def test_learners_passwords_are_words_in_their_schools_language_of_teaching(
        self, wales, medium, language
    ):
        import re

        from accounts.sealing import unseal
        from passwords.models import ShownPassword
        from passwords.words import WORDS

        wales.secondary.language_medium = medium
        wales.secondary.save()
        apply(wales.secondary, pupils_csv([pupil(n) for n in range(1, 9)]))
        sealed = ShownPassword.objects.filter(account__in=mis_learners(wales.secondary)).values_list(
            "sealed", flat=True
        )
        words = {w.lower() for s in sealed for w in re.findall(r"[A-Z][a-z]*", unseal(s))}  # two words each
        assert len(sealed) == 8 and words <= set(WORDS[language])
        if language == "cy":
            assert words - set(WORDS["en"]), "some words only Welsh has"

    def test_refused_rows_are_reported_and_not_created(self, wales):
        report = apply(wales.secondary, pupils_csv([pupil(1, upn_value="X00180001701A"), pupil(2, adno="")]))
        assert [(r.row, r.reason) for r in report.refused] == [
            (2, Reason.UPN_TEMPORARY),
            (3, Reason.MISSING_ADMISSION_NUMBER),
        ]
        assert not mis_learners(wales.secondary).exists()

    def test_a_dry_run_writes_nothing(self, wales):
        report = apply(wales.secondary, pupils_csv([pupil(1)]), dry_run=True)
        assert report.created == 1
        assert not Account.objects.filter(upn_hash__isnull=False).exists()
        assert not IssuedUsername.objects.filter(account__isnull=True).exists()


class ConvergenceTests:
    def test_the_same_extract_twice_changes_nothing_the_second_time(self, wales):
        data = pupils_csv([pupil(n) for n in range(1, 6)])
        apply(wales.secondary, data)
        before = list(mis_learners(wales.secondary).values_list("id", "updated_at"))
        events = AuditEvent.objects.count()
        report = apply(wales.secondary, data)
        assert report.counts() == {
            "created": 0,
            "updated": 0,
            "transferred_in": 0,
            "deactivated": 0,
            "reactivated": 0,
            "unchanged": 5,
            "refused": 0,
            "held": 0,
        }
        assert list(mis_learners(wales.secondary).values_list("id", "updated_at")) == before
        assert AuditEvent.objects.count() == events

    def test_mis_fields_are_updated(self, wales):
        apply(wales.secondary, pupils_csv([pupil(1), pupil(2)]))
        report = apply(
            wales.secondary, pupils_csv([pupil(1, year="Year 8", reg="8A", classes="8A/Ma1"), pupil(2)])
        )
        assert (report.updated, report.unchanged) == (1, 1)
        a = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (a.year_group, a.registration_group, a.classes) == ("8", "8A", ["8A/Ma1"])

    def test_the_number_of_queries_does_not_grow_with_the_extract(self, wales, django_assert_max_num_queries):
        from django.db import connection as conn
        from django.test.utils import CaptureQueriesContext

        counts = []
        for size, offset in ((5, 0), (150, 100)):
            with CaptureQueriesContext(conn) as ctx:
                apply(wales.secondary, pupils_csv([pupil(offset + n) for n in range(1, size + 1)]))
            counts.append(len(ctx.captured_queries))
        assert counts[1] <= counts[0] + 4, counts


class ChunkTests:
    """A school's accounts are read a chunk at a time: the plan decides as it would reading them all at once."""

    def later_run(self, wales):
        apply(wales.secondary, pupils_csv([pupil(n) for n in range(1, 10)]))
        apply(
            wales.secondary, pupils_csv([pupil(3, "Pritchard")] + [pupil(n) for n in range(1, 10) if n != 3])
        )
        apply(wales.other_school, pupils_csv([pupil(11, est=2001)]))
        rows_ = [pupil(1, year="Year 8"), pupil(2, leaving="31/10/2026")]
        rows_ += [pupil(n) for n in range(3, 8)] + [pupil(10), pupil(11, est=2001)]
        return pupils_csv(rows_)  # 8 and 9 have left, 10 is new, 11 moves here, 3's name matches again

    def test_a_later_run_read_two_accounts_at_a_time_decides_as_one_read_at_once(self, wales, monkeypatch):
        from provisioning.rules import assess
        from provisioning.sync import plan as sync_plan

        data = self.later_run(wales)
        whole = apply(wales.secondary, data, dry_run=True)
        monkeypatch.setattr(sync_plan, "LOOKUP_CHUNK", 2)
        monkeypatch.setattr(rows, "STREAM_CHUNK", 2)
        extract = read_extract(data)
        plan = sync_plan.extract_plan(wales.secondary, extract, assess(extract, TODAY))
        # of the accounts it read, it keeps only what it changes
        assert set(plan.changes) == plan.updated | plan.transferred | plan.deactivated | plan.reactivated
        assert not hasattr(plan, "loaded")
        assert plan.names_match == {Account.objects.get(upn_hash=upn_hash(upn(3))).pk}
        report = apply(wales.secondary, data)
        assert report.counts() == whole.counts()
        assert report.counts() == {
            "created": 1,
            "updated": 1,
            "transferred_in": 1,
            "deactivated": 3,
            "reactivated": 0,
            "unchanged": 5,
            "refused": 0,
            "held": 0,
        }
        left = mis_learners(wales.secondary).filter(status="deactivated")
        assert {a.upn_hash for a in left} == {upn_hash(upn(n)) for n in (2, 8, 9)}
        assert NameChangeNotice.objects.get().status == "cleared"


class LeaverTests:
    def test_a_passed_leaving_date_deactivates(self, wales):
        apply(wales.secondary, pupils_csv([pupil(n) for n in range(1, 11)]))
        report = apply(
            wales.secondary, pupils_csv([pupil(1, leaving="31/10/2026")] + [pupil(n) for n in range(2, 11)])
        )
        assert report.deactivated == 1
        a = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (a.status, a.status_reason, str(a.leaving_date)) == ("deactivated", "leaver", "2026-10-31")

    def test_absent_from_a_full_extract_deactivates_and_returning_reactivates(self, wales):
        rows = [pupil(n) for n in range(1, 21)]
        apply(wales.secondary, pupils_csv(rows))
        report = apply(wales.secondary, pupils_csv(rows[1:]))
        assert report.deactivated == 1
        report = apply(wales.secondary, pupils_csv(rows))
        assert (report.reactivated, report.deactivated) == (1, 0)
        assert Account.objects.get(upn_hash=upn_hash(upn(1))).status == "active"

    def test_an_account_deactivated_by_a_person_is_not_reactivated(self, wales):
        apply(wales.secondary, pupils_csv([pupil(1)]))
        Account.objects.filter(upn_hash=upn_hash(upn(1))).update(status="deactivated", status_reason="manual")
        report = apply(wales.secondary, pupils_csv([pupil(1)]))
        assert report.reactivated == 0 and report.unchanged == 1

    def test_non_mis_and_manual_accounts_are_left_alone(self, wales, governor):
        apply(wales.secondary, pupils_csv([pupil(1)]))
        apply(wales.secondary, pupils_csv([pupil(2)]))
        governor.refresh_from_db()
        assert governor.status == "active"


class TransferTests:
    def test_a_learner_moving_school_keeps_the_same_account(self, wales):
        apply(wales.other_school, pupils_csv([pupil(1, "Parry", "Siân"), pupil(2)]))
        moved = Account.objects.get(upn_hash=upn_hash(upn(1)))
        report = apply(wales.secondary, pupils_csv([pupil(1, "Parry", "Siân", adno="999", reg="10C")]))
        assert report.transferred_in == 1 and report.created == 0
        after = Account.objects.get(pk=moved.pk)
        assert (after.organisation_id, after.username, after.email) == (
            wales.secondary.pk,
            moved.username,
            moved.email,
        )
        assert (after.admission_number, after.registration_group) == ("999", "10C")
        # the old school's next full run does not touch it
        report = apply(wales.other_school, pupils_csv([pupil(2)]))
        assert report.deactivated == 0
        assert Account.objects.get(pk=moved.pk).status == "active"

    def test_a_leaver_joining_another_school_is_reactivated_there(self, wales):
        apply(wales.other_school, pupils_csv([pupil(1)]))
        apply(wales.other_school, pupils_csv([pupil(1, leaving="20/07/2026")]))
        report = apply(wales.secondary, pupils_csv([pupil(1)]))
        assert (report.transferred_in, report.reactivated) == (1, 0)
        a = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (a.organisation_id, a.status, a.leaving_date) == (wales.secondary.pk, "active", None)

    def test_a_new_upn_is_a_new_account(self, wales):
        apply(wales.secondary, pupils_csv([pupil(1, "Jones", "Elin")]))
        apply(wales.secondary, pupils_csv([pupil(2, "Jones", "Elin")]))
        assert mis_learners(wales.secondary).count() == 2

    def test_a_staff_member_moving_school_keeps_the_account(self, wales):
        data = b"Surname,Forename,Staff Code,Email\r\nMorgan,Rhys,RMO,rhys.morgan@example.org\r\n"
        apply(wales.other_school, data)
        before = Account.objects.get(kind="staff", staff_code="RMO")
        report = apply(
            wales.secondary,
            b"Surname,Forename,Staff Code,Email\r\nMorgan,Rhys,MOR,Rhys.Morgan@example.org\r\n",
        )
        assert report.transferred_in == 1
        after = Account.objects.get(pk=before.pk)
        assert (after.organisation_id, after.staff_code, after.username, after.moved_from_id) == (
            wales.secondary.pk,
            "MOR",
            before.username,
            wales.other_school.pk,
        )

    def test_a_staff_member_at_two_schools_keeps_one_account_where_it_went(self, wales):
        header = b"Surname,Forename,Staff Code,Email\r\n"
        at_a = header + b"Morgan,Rhys,RMO,rhys.morgan@example.org\r\n"
        at_b = header + b"Morgan,Rhys,MOR,rhys.morgan@example.org\r\n"
        apply(wales.other_school, at_a)
        assert apply(wales.secondary, at_b).transferred_in == 1
        account = Account.objects.get(kind="staff", work_email="rhys.morgan@example.org")
        before = Account.objects.filter(pk=account.pk).values().get()
        # both schools' MIS keep listing them: the account no longer moves to and fro every hour
        for _ in range(2):
            report = apply(wales.other_school, at_a)
            assert [(r.row, r.reason) for r in report.refused] == [(2, Reason.EMPLOYED_ELSEWHERE)]
            assert (report.transferred_in, report.created, report.deactivated) == (0, 0, 0)
            assert apply(wales.secondary, at_b).counts() == {**NOTHING, "unchanged": 1}
        assert Account.objects.filter(pk=account.pk).values().get() == before
        assert "still lists them" in report.as_dict()["refused_rows"][0]["message"]

    def test_a_staff_member_who_left_the_school_they_moved_to_moves_back(self, wales):
        header = b"Surname,Forename,Staff Code,Email\r\n"
        apply(wales.other_school, header + b"Morgan,Rhys,RMO,rhys.morgan@example.org\r\n")
        apply(wales.secondary, header + b"Morgan,Rhys,MOR,rhys.morgan@example.org\r\n")
        left = b"Surname,Forename,Staff Code,Email,Leaving Date\r\nMorgan,Rhys,MOR,rhys.morgan@example.org,31/10/2026\r\n"
        assert apply(wales.secondary, left).deactivated == 1
        report = apply(wales.other_school, header + b"Morgan,Rhys,RMO,rhys.morgan@example.org\r\n")
        assert (report.transferred_in, report.refused) == (1, [])
        account = Account.objects.get(kind="staff", work_email="rhys.morgan@example.org")
        assert (account.organisation_id, account.status, account.staff_code) == (
            wales.other_school.pk,
            "active",
            "RMO",
        )

    def test_a_staff_code_changed_at_the_school_keeps_the_account(self, wales):
        header = b"Surname,Forename,Staff Code,Email\r\n"
        apply(wales.other_school, header + b"Morgan,Rhys,RMO,rhys.morgan@example.org\r\n")
        before = Account.objects.get(kind="staff", staff_code="RMO")
        report = apply(wales.other_school, header + b"Morgan,Rhys,RM2,rhys.morgan@example.org\r\n")
        assert (report.created, report.deactivated, report.updated) == (0, 0, 1)
        assert Account.objects.get(pk=before.pk).staff_code == "RM2"


class DualRegistrationTests:
    """A learner on roll at two schools at once settles at one of them instead of moving to and fro."""

    def test_the_account_moves_once_and_the_other_school_is_told_why(self, wales):
        a_school, b_school, data = wales.secondary, wales.other_school, pupils_csv([pupil(1)])
        apply(b_school, data)
        report = apply(a_school, data)
        assert report.transferred_in == 1
        account = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (account.organisation_id, account.moved_from_id) == (a_school.pk, b_school.pk)

        report = apply(b_school, data)
        assert [(r.row, r.reason) for r in report.refused] == [(2, Reason.REGISTERED_ELSEWHERE)]
        assert (report.transferred_in, report.created, report.deactivated) == (0, 0, 0)
        assert "still on roll" in report.as_dict()["refused_rows"][0]["message"]

        before = Account.objects.filter(pk=account.pk).values().get()
        events = AuditEvent.objects.count()
        assert apply(a_school, data).counts() == {**NOTHING, "unchanged": 1}
        assert apply(b_school, data).counts() == {**NOTHING, "refused": 1}
        assert Account.objects.filter(pk=account.pk).values().get() == before
        assert AuditEvent.objects.count() == events

    def test_a_learner_who_left_the_new_school_can_return(self, wales):
        a_school, b_school = wales.secondary, wales.other_school
        apply(b_school, pupils_csv([pupil(1), pupil(2)]))
        apply(a_school, pupils_csv([pupil(1)]))
        apply(a_school, pupils_csv([pupil(1, leaving="31/10/2026")]))
        report = apply(b_school, pupils_csv([pupil(1, reg="9B"), pupil(2)]))
        assert (report.transferred_in, report.refused) == (1, [])
        account = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (
            account.organisation_id,
            account.status,
            account.registration_group,
            account.moved_from_id,
        ) == (
            b_school.pk,
            "active",
            "9B",
            a_school.pk,
        )

    def test_the_school_it_moved_to_may_still_take_it_from_a_third_school(self, wales):
        apply(wales.other_school, pupils_csv([pupil(1)]))
        apply(wales.secondary, pupils_csv([pupil(1)]))
        report = apply(wales.primary, pupils_csv([pupil(1)]))
        assert report.transferred_in == 1
        account = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (account.organisation_id, account.moved_from_id) == (wales.primary.pk, wales.secondary.pk)


NOTHING = {
    "created": 0,
    "updated": 0,
    "transferred_in": 0,
    "deactivated": 0,
    "reactivated": 0,
    "unchanged": 0,
    "refused": 0,
    "held": 0,
}


class OneRosterDeltaTests:
    """A delta is a change list: what it does not carry stays as it is."""

    def setup_bulk(self, org):
        apply(
            org,
            oneroster_zip(
                learners=[{"n": 1, "reg": "7C", "classes": ["7C/Hi", "7C/Cy"], "end": "2027-07-20"}]
            ),
        )

    def test_a_learner_without_enrolments_in_the_delta_keeps_their_classes(self, wales):
        self.setup_bulk(wales.secondary)
        delta = oneroster_zip(learners=[{"n": 1, "grade": "08", "enrolments": False}], mode="delta")
        report = apply(wales.secondary, delta)
        assert (report.updated, report.refused) == (1, [])
        a = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (a.year_group, a.registration_group, a.classes) == ("8", "7C", ["7C/Cy", "7C/Hi"])
        assert (a.admission_date, a.leaving_date) == (date(2019, 9, 1), date(2027, 7, 20))

    def learner(self):
        a = Account.objects.get(upn_hash=upn_hash(upn(1)))
        return a.registration_group, a.classes, a.admission_date, a.leaving_date

    def test_a_delta_joins_and_leaves_classes_and_keeps_the_rest(self, wales):
        self.setup_bulk(wales.secondary)
        # joins 8C (homeroom) and 8C/Hi, leaves 7C (homeroom) and 7C/Hi; 7C/Cy is not mentioned, so it stays
        delta = oneroster_zip(
            learners=[
                {"n": 1, "reg": "8C", "classes": ["8C/Hi"], "left": ["7C", "7C/Hi"], "begin": "2026-11-02"}
            ],
            mode="delta",
        )
        assert apply(wales.secondary, delta).updated == 1
        # a new class in November is not a new admission, and the listed enrolments have not ended
        assert self.learner() == ("8C", ["7C/Cy", "8C/Hi"], date(2019, 9, 1), date(2027, 7, 20))
        assert apply(wales.secondary, delta).counts() == {**NOTHING, "unchanged": 1}

    def test_leaving_the_registration_group_alone_clears_it(self, wales):
        self.setup_bulk(wales.secondary)
        delta = oneroster_zip(learners=[{"n": 1, "enrolments": False, "left": ["7C"]}], mode="delta")
        assert apply(wales.secondary, delta).updated == 1
        assert self.learner()[:2] == ("", ["7C/Cy", "7C/Hi"])

    def test_classes_the_delta_does_not_describe_are_known_from_earlier_packages(self, wales):
        apply(
            wales.secondary,
            oneroster_zip(
                learners=[{"n": 1, "reg": "7C", "classes": ["7C/Hi"]}, {"n": 2, "classes": ["7C/Cy"]}]
            ),
        )
        # learner 1 joins 7C/Cy, which only learner 2's bulk enrolment described
        delta = oneroster_zip(
            learners=[{"n": 1, "reg": "", "classes": ["7C/Cy"]}], mode="delta", class_rows=False
        )
        assert apply(wales.secondary, delta).updated == 1
        assert self.learner()[:2] == ("7C", ["7C/Cy", "7C/Hi"])

    def test_enrolment_changes_for_a_learner_the_delta_does_not_list_apply_too(self, wales):
        self.setup_bulk(wales.secondary)
        delta = oneroster_zip(
            learners=[{"n": 1, "user": False, "reg": "", "classes": ["7C/Ff"], "left": ["7C/Hi"]}],
            mode="delta",
        )
        report = apply(wales.secondary, delta)
        assert (report.updated, report.refused) == (1, [])
        assert self.learner()[:2] == ("7C", ["7C/Cy", "7C/Ff"])
        # the link is kept as a keyed hash of the sourcedId, which a broker might have made the UPN
        assert OneRosterUser.objects.count() == 1 and "stu-1" not in str(list(OneRosterUser.objects.values()))

    def test_bulk_packages_link_every_learner_so_later_deltas_can_find_them(self, wales):
        bulk = oneroster_zip(learners=[{"n": 1}, {"n": 2}])
        apply(wales.secondary, bulk)
        assert OneRosterUser.objects.filter(organisation=wales.secondary).count() == 2
        # accounts made before links were kept get them from the next bulk package
        OneRosterUser.objects.all().delete()
        apply(wales.secondary, bulk)
        assert OneRosterUser.objects.filter(organisation=wales.secondary).count() == 2
        # a learner moving in is linked at the new school even when its link count already looks complete
        apply(wales.other_school, pupils_csv([pupil(3)]))
        moved = oneroster_zip(learners=[{"n": 1}, {"n": 3}])
        assert apply(wales.secondary, moved).transferred_in == 1
        links = dict(
            OneRosterUser.objects.filter(organisation=wales.secondary).values_list("account", "organisation")
        )
        assert Account.objects.get(upn_hash=upn_hash(upn(3))).pk in links

    def test_a_bulk_package_replaces_the_classes_and_forgets_classes_it_no_longer_has(self, wales):
        self.setup_bulk(wales.secondary)
        apply(wales.secondary, oneroster_zip(learners=[{"n": 1, "reg": "8A", "classes": ["8A/Ma"]}]))
        assert self.learner()[:2] == ("8A", ["8A/Ma"])
        assert set(OneRosterClass.objects.values_list("title", flat=True)) == {"8A", "8A/Ma"}
        # a delta naming a forgotten class by id alone changes nothing it cannot name
        delta = oneroster_zip(
            learners=[{"n": 1, "reg": "", "classes": ["7C/Hi"]}], mode="delta", class_rows=False
        )
        assert apply(wales.secondary, delta).counts() == {**NOTHING, "unchanged": 1}

    def test_a_delta_may_admit_a_new_learner_with_their_classes(self, wales):
        apply(wales.secondary, oneroster_zip(learners=[{"n": 2, "reg": "7C", "classes": ["7C/Hi"]}]))
        delta = oneroster_zip(
            learners=[{"n": 1, "reg": "7C", "classes": ["7C/Hi"], "begin": "2026-11-02"}],
            mode="delta",
            class_rows=False,
        )
        assert apply(wales.secondary, delta).created == 1
        assert self.learner()[:3] == ("7C", ["7C/Hi"], date(2026, 11, 2))

    def test_an_empty_delta_is_applied_not_held(self, wales):
        self.setup_bulk(wales.secondary)
        report = apply(wales.secondary, oneroster_zip(learners=[], mode="delta"))
        assert report.counts() == NOTHING
        # an empty full list still is held: it would deactivate everyone
        assert apply(wales.secondary, oneroster_zip(learners=[])).held == "empty"

    def test_a_delta_without_enrolments_neither_makes_nor_moves_an_account(self, wales):
        apply(wales.other_school, pupils_csv([pupil(2)]))
        delta = oneroster_zip(
            learners=[{"n": 2, "enrolments": False}, {"n": 3, "enrolments": False}], mode="delta"
        )
        report = apply(wales.secondary, delta)
        assert [(r.row, r.reason) for r in report.refused] == [
            (2, Reason.MISSING_ADMISSION_DATE),
            (3, Reason.MISSING_ADMISSION_DATE),
        ]
        assert Account.objects.get(upn_hash=upn_hash(upn(2))).organisation_id == wales.other_school.pk
        assert not Account.objects.filter(upn_hash=upn_hash(upn(3))).exists()


class NameChangeTests:
    def test_a_legal_name_change_raises_a_notice_and_renames_nothing(self, wales):
        apply(wales.secondary, pupils_csv([pupil(1, "Jones", "Elin")]))
        report = apply(wales.secondary, pupils_csv([pupil(1, "Pritchard", "Elin")]))
        a = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (a.legal_surname, a.username) == ("Jones", "JonesE")
        assert report.name_changes == 1
        notice = NameChangeNotice.objects.get(account=a)
        assert (notice.status, notice.mis_surname) == ("pending", "Pritchard")
        apply(wales.secondary, pupils_csv([pupil(1, "Pritchard", "Elin")]))
        assert NameChangeNotice.objects.filter(account=a).count() == 1

    def test_the_notice_clears_when_the_mis_matches_again(self, wales):
        apply(wales.secondary, pupils_csv([pupil(1, "Jones", "Elin")]))
        apply(wales.secondary, pupils_csv([pupil(1, "Pritchard", "Elin")]))
        apply(wales.secondary, pupils_csv([pupil(1, "Jones", "Elin")]))
        assert NameChangeNotice.objects.get().status == "cleared"

    def test_accepting_a_notice_changes_names_but_not_the_username(self, wales, digital_champion):
        apply(wales.secondary, pupils_csv([pupil(1, "Jones", "Elin")]))
        apply(wales.secondary, pupils_csv([pupil(1, "Pritchard", "Elin")]))
        services.notice_decide(notice=NameChangeNotice.objects.get(), actor=digital_champion, accept=True)
        a = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert (a.legal_surname, a.display_name, a.username) == ("Pritchard", "Elin P", "JonesE")


class BrakeTests:
    def test_a_run_deactivating_too_many_is_held_and_changes_nothing(self, wales):
        rows = [pupil(n) for n in range(1, 31)]
        apply(wales.secondary, pupils_csv(rows))
        run = run_create(
            organisation=wales.secondary, data=pupils_csv(rows[:20] + [pupil(99)]), source="command"
        )
        report = run_apply(run=run, today=TODAY)
        assert report.held == "brake" and report.deactivated == 10
        run.refresh_from_db()
        assert run.status == "held" and run.file_path
        assert mis_learners(wales.secondary).filter(status="active").count() == 30
        assert not Account.objects.filter(upn_hash=upn_hash(upn(99))).exists()

    def test_an_approved_held_run_is_applied_and_its_file_deleted(self, wales, digital_champion):
        rows = [pupil(n) for n in range(1, 31)]
        apply(wales.secondary, pupils_csv(rows))
        run = run_create(organisation=wales.secondary, data=pupils_csv(rows[:20]), source="command")
        run_apply(run=run, today=TODAY)
        run.refresh_from_db()
        path = run.file_path
        report = run_approve(run=run, actor=digital_champion)
        assert report.deactivated == 10 and not report.held
        run.refresh_from_db()
        assert (run.status, run.file_path, run.decided_by_id) == ("applied", "", digital_champion.pk)
        from pathlib import Path

        assert not Path(path).exists()

    def test_a_rejected_held_run_changes_nothing(self, wales, digital_champion):
        apply(wales.secondary, pupils_csv([pupil(n) for n in range(1, 31)]))
        run = run_create(organisation=wales.secondary, data=pupils_csv([]), source="command")
        assert run_apply(run=run, today=TODAY).held == "empty"
        run_reject(run=run, actor=digital_champion)
        run.refresh_from_db()
        assert run.status == "rejected" and not run.file_path
        assert mis_learners(wales.secondary).filter(status="active").count() == 30

    def test_an_extract_cut_short_is_held(self, wales):
        data = pupils_csv([pupil(n) for n in range(1, 6)])
        report = apply(wales.secondary, data[:-25])
        assert report.held == "truncated"
        assert not mis_learners(wales.secondary).exists()

    def test_a_few_leavers_at_a_small_school_are_not_held(self, wales):
        apply(wales.primary, pupils_csv([pupil(n, est=2001) for n in range(1, 11)]))
        report = apply(wales.primary, pupils_csv([pupil(n, est=2001) for n in range(3, 11)]))
        assert not report.held and report.deactivated == 2


class RunTests:
    def test_a_malformed_file_fails_with_a_clear_error_and_changes_nothing(self, wales):
        run = run_create(organisation=wales.secondary, data=b"Name,Email\nx,y\n", source="command")
        run_apply(run=run)
        run.refresh_from_db()
        assert (run.status, run.error_code, run.file_path) == ("failed", "unknown_headers", "")
        assert "Legal Surname" in str(run.error_message)
        assert not mis_learners(wales.secondary).exists()

    def test_a_run_records_counts_and_refused_rows_but_no_upn(self, wales):
        run = run_create(
            organisation=wales.secondary,
            data=pupils_csv([pupil(1), pupil(2, upn_value="A801200005001")]),
            source="api",
        )
        run.refresh_from_db()
        run_apply(run=run) if run.status == "queued" else None
        run.refresh_from_db()
        assert (run.status, run.created, run.refused) == ("applied", 1, 1)
        assert run.refused_rows == [{"row": 3, "reason": "upn_check_letter", "kind": "learner"}]
        assert "A801200005001" not in str(ProvisioningRun.objects.values().get())

    def test_oneroster_provisions_learners_and_staff(self, wales):
        data = oneroster_zip(learners=[{"n": 1}, {"n": 2}], teachers=[{"code": "rmo"}])
        report = apply(wales.secondary, data)
        # the fixtures' MIS staff at the school are absent from the full extract
        assert report.created == 3

    def test_a_kill_mid_run_leaves_nothing_half_made(self, wales, monkeypatch):
        def boom(*args, **kwargs):
            raise RuntimeError("worker killed")

        monkeypatch.setattr(rows, "changes_write", boom)
        with pytest.raises(RuntimeError):
            apply(wales.secondary, pupils_csv([pupil(1), pupil(2)]))
        assert not Account.objects.filter(upn_hash__isnull=False).exists()
        assert not IssuedUsername.objects.filter(username_lower__startswith="jones").exists()
        monkeypatch.undo()
        assert apply(wales.secondary, pupils_csv([pupil(1), pupil(2)])).created == 2


@pytest.mark.postgres_only(reason="row locks between connections and username reservations")
@pytest.mark.django_db(transaction=True)
class ConcurrencyTests:
    def test_two_runs_for_one_school_never_overlap(self, wales):
        data = pupils_csv([pupil(n) for n in range(1, 41)])
        reports, errors = [], []
        barrier = threading.Barrier(2)

        def worker():
            try:
                barrier.wait()
                reports.append(apply(wales.secondary, data))
            except Exception as exc:  # noqa: BLE001 - surfaced below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert sorted(r.created for r in reports) == [0, 40]
        assert mis_learners(wales.secondary).count() == 40

    def test_two_schools_claiming_one_new_upn_make_one_account(self, wales):
        reports, errors = [], []
        barrier = threading.Barrier(2)

        def worker(org):
            try:
                barrier.wait()
                reports.append(apply(org, pupils_csv([pupil(1)])))
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(o,)) for o in (wales.secondary, wales.other_school)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert Account.objects.filter(upn_hash=upn_hash(upn(1))).count() == 1
        assert sorted(r.created + r.transferred_in for r in reports) == [1, 1]

    def test_a_first_run_that_fails_after_reserving_names_leaves_only_a_gap(self, wales, monkeypatch):
        def killed(*args, **kwargs):
            raise RuntimeError("worker killed")

        data = pupils_csv([pupil(1), pupil(2)])
        monkeypatch.setattr(sync_apply, "audit_record_bulk", killed)
        with pytest.raises(RuntimeError):
            apply(wales.secondary, data)
        # the reservation was committed before the run's transaction; nothing the run made was
        assert not Account.objects.filter(upn_hash__isnull=False).exists()
        assert not IssuedUsername.objects.exists()
        assert UsernameCounter.objects.get(base_lower="jonesd").top == 2
        monkeypatch.undo()
        assert apply(wales.secondary, data).created == 2
        # the numbers the failed run held are never handed out again (as with a database sequence)
        assert sorted(mis_learners(wales.secondary).values_list("username", flat=True)) == [
            "JonesD3",
            "JonesD4",
        ]

    def test_first_provisionings_of_two_schools_do_not_wait_on_each_others_usernames(
        self, wales, monkeypatch
    ):
        # Every learner at both schools is a Dafydd Jones: without names reserved ahead, the second school's
        # claim of JonesD would wait for the first school's transaction to end.
        real_write = sync_apply._write_batch
        first_wrote, release = threading.Event(), threading.Event()
        reports, errors = {}, []

        def write_then_hold(*args, **kwargs):
            real_write(*args, **kwargs)
            if threading.current_thread().name == "first":
                first_wrote.set()
                release.wait(60)  # the first school's transaction stays open until the second is done

        monkeypatch.setattr(sync_apply, "_write_batch", write_then_hold)

        def worker(org, est):
            try:
                reports[org.code] = apply(org, pupils_csv([pupil(n, est=est) for n in range(1, 21)]))
            except Exception as exc:  # noqa: BLE001 - surfaced below
                errors.append(exc)
            finally:
                connection.close()

        first = threading.Thread(target=worker, args=(wales.secondary, 4001), name="first")
        second = threading.Thread(target=worker, args=(wales.other_school, 2001), name="second")
        first.start()
        try:
            assert first_wrote.wait(60), "the first school never reached its writes"
            second.start()
            second.join(60)
            assert not second.is_alive(), (
                "the second school waited on the first school's uncommitted usernames"
            )
        finally:
            release.set()
            first.join(60)
            second.join(60)
        assert not errors
        assert reports[wales.secondary.code].created == reports[wales.other_school.code].created == 20
        usernames = sorted(Account.objects.filter(upn_hash__isnull=False).values_list("username", flat=True))
        assert usernames == sorted(["JonesD"] + [f"JonesD{n}" for n in range(2, 41)])
        first_school = set(mis_learners(wales.secondary).values_list("username", flat=True))
        assert first_school == {"JonesD"} | {f"JonesD{n}" for n in range(2, 21)}


def test_staff_export_creates_staff_and_deactivates_the_absent(wales, teacher):
    teacher.staff_code = "HPR"
    teacher.save()
    report = apply(
        wales.secondary, staff_csv([staff("HPR", "Pritchard", "Huw"), staff("NEW", "Lloyd", "Nia")])
    )
    assert (report.created, report.updated) == (1, 1)  # the fixture's role and start date follow the MIS
    assert Account.objects.get(staff_code="NEW").username == "LloydN"
    staff_account(wales.secondary, staff_code="OLD")
    report = apply(
        wales.secondary, staff_csv([staff("HPR", "Pritchard", "Huw"), staff("NEW", "Lloyd", "Nia")])
    )
    assert report.deactivated == 1
    _ = learner


def test_a_row_changed_after_planning_makes_the_run_plan_again(wales, monkeypatch):
    from django.utils import timezone

    apply(wales.secondary, pupils_csv([pupil(1)]))
    real, calls = sync_apply.extract_plan, []

    def plan_then_someone_else_writes(*args, **kwargs):
        plan = real(*args, **kwargs)
        if not calls:
            Account.objects.filter(upn_hash=upn_hash(upn(1))).update(updated_at=timezone.now())
        calls.append(plan)
        return plan

    monkeypatch.setattr(sync_apply, "extract_plan", plan_then_someone_else_writes)
    report = apply(wales.secondary, pupils_csv([pupil(1, year="Year 8")]))
    assert len(calls) == 2 and report.updated == 1
    assert Account.objects.get(upn_hash=upn_hash(upn(1))).year_group == "8"


def test_a_planned_change_writes_the_fields_it_sets_and_leaves_the_rest_as_read(wales, monkeypatch):
    from django.utils import timezone

    from provisioning.rules import assess
    from provisioning.sync import plan as sync_plan

    apply(wales.secondary, pupils_csv([pupil(1), pupil(2)]))
    extract = read_extract(pupils_csv([pupil(1, year="Year 8", classes="8A/Ma1"), pupil(2, reg="7B")]))
    plan = sync_plan.extract_plan(wales.secondary, extract, assess(extract, TODAY))
    one, two = (Account.objects.get(upn_hash=upn_hash(upn(n))) for n in (1, 2))
    # each change keeps only what differs from the account as read (and updated_at)
    assert set(rows.change_values(plan.changes[one.pk])) == {"year_group", "classes", "updated_at"}
    assert set(rows.change_values(plan.changes[two.pk])) == {"registration_group", "updated_at"}
    assert rows.change_seen(plan.changes[one.pk]) == one.updated_at
    # a statement for each change, so that the first is written before the second finds its account changed
    monkeypatch.setattr(rows, "WRITE_CHUNK", 1)
    # written only where nobody changed the account since: here someone did, so the run's transaction ends
    Account.objects.filter(pk=two.pk).update(admission_number="999999", updated_at=timezone.now())
    with pytest.raises(rows.StaleRows), transaction.atomic():
        rows.changes_write(plan.changes)
    assert Account.objects.get(pk=one.pk).year_group == "7"
    del plan.changes[two.pk]
    rows.changes_write(plan.changes)
    after = Account.objects.get(pk=one.pk)
    assert (after.year_group, after.classes, after.registration_group) == ("8", ["8A/Ma1"], "7A")
    assert (after.admission_number, after.legal_surname, after.status) == (
        one.admission_number,
        one.legal_surname,
        one.status,
    )
    assert Account.objects.get(pk=two.pk).registration_group == "7A"
