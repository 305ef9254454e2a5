"""Load the demo: a consortium, an LA, a primary and a secondary school, filled as the MIS would fill them.

Rules: idempotent (running it again changes nothing and creates nobody twice). Learners and staff arrive
the way they do in production: each school's pupils and staff are written as a SIMS-style CSV export with
valid UPNs and applied through the provisioning sync, so every new account gets a sealed initial password
(Show password works in the demo) and a provisioning run appears on the Provisioning page. The named demo
people then get the password DEMO_PASSWORD and their roles; governors, non-MIS users and administrators are
made by hand, as they are in Hwb. The LA administrator's grant is at the LA, so (least privilege) they manage
the LA's own users, such as the LA officer, and none of its schools' accounts. Every demo organisation trusts
127.0.0.1 and ::1, so its people sign in with their password alone from this machine; the Hwb administrators,
asked for a code on every sign-in, have an authenticator with the published key DEMO_TOTP_KEY. Prints the
demo sign-ins and that key at the end.
"""

import base64
import csv
import io
import random
from datetime import date

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import FORENAMES, SURNAMES
from accounts.models import SUPPLY_TEACHER_ROLE, Account, Organisation, RoleGrant
from accounts.services import display_name_for, email_for, role_grant
from accounts.usernames import username_allocate, usernames_bind
from passwords.models import ShownPassword
from provisioning.models import ProvisioningRun
from provisioning.runs import run_apply, run_create
from provisioning.upn import upn_make

DEMO_PASSWORD = "CroesoHwb2026"  # noqa: S105 - the published demo password, printed on purpose.
# The demo's organisations trust the machine it runs on, so their people sign in with a password as they
# always have; Hwb administrators are asked for a code on every sign-in all the same.
DEMO_NETWORKS = ["127.0.0.0/8", "::1/128"]
# The demo administrators' authenticator key (base32, published in the README): add it to any authenticator
# app, or compute the code with `python -c "import pyotp; print(pyotp.TOTP('...').now())"`.
DEMO_TOTP_KEY = "HWBDEMOADMINKEYSHWBDEMOADMINKEYS"  # noqa: S105 - published on purpose, demo only
K = Account.Kind
# Aber Primary teaches in Welsh: its learners' passwords are Welsh words.
WELSH_MEDIUM = {"6612001"}
ORGS = [
    # code, kind, name, name_cy, phase, parent
    ("NATIONAL", "national", "Hwb", "Hwb", "", None),
    ("GWE", "consortium", "GwE North Wales consortium", "Consortiwm GwE Gogledd Cymru", "", None),
    ("661", "local_authority", "Gwynedd Council", "Cyngor Gwynedd", "", "GWE"),
    ("6612001", "school", "Aber Primary School", "Ysgol Gynradd Aber", "primary", "661"),
    ("6614001", "school", "Eryri High School", "Ysgol Uwchradd Eryri", "secondary", "661"),
]
# key, org code, kind, forename, surname, role, description; learners and staff come from the MIS extract.
PEOPLE = [
    ("national_admin", "NATIONAL", K.LA_NON_MIS, "Ifan", "Cadwaladr", RoleGrant.Role.HWB_ADMIN,
     "National Hwb administrator"),
    ("la_admin", "661", K.LA_NON_MIS, "Bethan", "Llwyd", RoleGrant.Role.HWB_ADMIN,
     "LA administrator (Gwynedd): the LA's own users, not its schools'"),
    ("la_officer", "661", K.LA_NON_MIS, "Dylan", "Ellis", None, "LA officer (Gwynedd), an LA non-MIS user"),
    ("dc_secondary", "6614001", K.STAFF, "Gwenllïan", "ap Rhys", RoleGrant.Role.DIGITAL_CHAMPION,
     "Digital Champion, Eryri High School"),
    ("teacher_secondary", "6614001", K.STAFF, "Huw", "Pritchard", None, "Teacher, Eryri High School"),
    ("dc_primary", "6612001", K.STAFF, "Mererid", "Hopcyn", RoleGrant.Role.DIGITAL_CHAMPION,
     "Digital Champion, Aber Primary School"),
    ("teacher_primary", "6612001", K.STAFF, "Sioned", "Wyn", None, "Teacher, Aber Primary School"),
    ("learner_secondary", "6614001", K.LEARNER, "Llŷr", "O'Brien", None, "Learner, Year 9, Eryri High School"),
    ("learner_primary", "6612001", K.LEARNER, "Ŵyn", "Jones-Williams", None,
     "Learner, Year 4, Aber Primary School"),
    ("governor", "6614001", K.GOVERNOR, "Alun", "Tudur", None, "Governor, Eryri High School"),
    ("supply", "6614001", K.SCHOOL_NON_MIS, "Carys", "Bevan", None, "Supply teacher (non-MIS), Eryri High School"),
]  # fmt: skip
# The secondary school first: its named people are the demo's main characters and get the plain usernames.
SCHOOL_SHAPES = {
    "6614001": {"years": ["7", "8", "9", "10", "11"], "per_year": 160, "groups": 6, "staff": 45},
    "6612001": {"years": ["R", "1", "2", "3", "4", "5", "6"], "per_year": 57, "groups": 2, "staff": 15},
}
SUBJECTS = ["Ma", "Cy", "En", "Gw"]
PUPIL_HEADER = [
    "Legal Surname",
    "Legal Forename",
    "UPN",
    "Adno",
    "Admission Date",
    "Year",
    "Reg Group",
    "Class",
    "Consent",
]
STAFF_HEADER = ["Legal Surname", "Legal Forename", "Staff Code", "Employment Start Date", "Role"]


class Command(BaseCommand):
    help = "Load the demo organisations and people, and provision ~1,200 learners through the MIS sync."

    def handle(self, *args, verbosity=1, **options):
        orgs = self._organisations()
        for code in SCHOOL_SHAPES:
            self._provision(orgs[code], code, verbosity)
        with transaction.atomic():
            people = self._people(orgs)
        if verbosity:
            total = Account.objects.filter(organisation__code__in=list(SCHOOL_SHAPES)).count()
            self.stdout.write(self.style.SUCCESS(f"Demo data ready ({total} school accounts)."))
            self.stdout.write(f"\nDemo sign-ins (password for all: {DEMO_PASSWORD}):")
            for key, *_rest, description in PEOPLE:
                self.stdout.write(f"  {people[key].username:<20} {description}")
            self.stdout.write(
                f"\nHwb administrators are asked for a code at every sign-in. Their authenticator key: {DEMO_TOTP_KEY}"
                "\n  (add it to an authenticator app, or: .venv/bin/python -c "
                f"\"import pyotp; print(pyotp.TOTP('{DEMO_TOTP_KEY}').now())\")"
            )
            self.stdout.write("")

    def _organisations(self):
        orgs = {}
        for code, kind, name, name_cy, phase, parent in ORGS:
            org, _ = Organisation.objects.update_or_create(
                code=code,
                defaults={
                    "kind": kind,
                    "name": name,
                    "name_cy": name_cy,
                    "phase": phase,
                    "parent": orgs.get(parent),
                    "language_medium": Organisation.Medium.WELSH if code in WELSH_MEDIUM else "",
                    "trusted_networks": DEMO_NETWORKS,
                },
            )
            orgs[code] = org
        return orgs

    def _provision(self, school, code, verbosity):
        """Write the school's MIS export and apply it through the sync, as the Provisioning Client would."""
        if Account.objects.filter(organisation=school, source=Account.Source.MIS).exists():
            return  # provisioned by an earlier run; the sync itself would find nothing to change
        pupils, staff = _extracts(code)
        for data in (staff, pupils):
            run = run_create(organisation=school, data=data, source=ProvisioningRun.Source.COMMAND)
            report = run_apply(run=run)
            run.refresh_from_db()
            if verbosity > 1:
                self.stdout.write(f"{code}: {run.status} {report}")

    def _people(self, orgs):
        people = {}
        hashed = make_password(DEMO_PASSWORD)
        for key, code, kind, forename, surname, role, _description in PEOPLE:
            org = orgs[code]
            account = Account.objects.filter(
                organisation=org, kind=kind, legal_forename=forename, legal_surname=surname
            ).first()
            if account is None:
                # Only hand-made accounts reach here: the MIS extract already made the learners and staff.
                username = username_allocate(forename=forename, surname=surname)
                account = Account.objects.create(
                    organisation=org, kind=kind, source=Account.Source.MANUAL, legal_forename=forename,
                    legal_surname=surname, display_name=display_name_for(kind, forename, surname),
                    username=username, email=email_for(username), password=hashed,
                    expires_on=date(_academic_year_end_year(), 8, 31) if org.is_school else None,
                )  # fmt: skip
                usernames_bind([account])
            elif not account.has_usable_password():
                # The demo people sign in with the published password rather than their sealed initial one.
                account.password = hashed
                account.save(update_fields=["password"])
                ShownPassword.objects.filter(account=account).delete()
            if key == "supply" and account.staff_role != SUPPLY_TEACHER_ROLE:
                # a supply teacher is school staff for the school's learners (accounts.permissions)
                account.staff_role = SUPPLY_TEACHER_ROLE
                account.save(update_fields=["staff_role"])
            if role:
                role_grant(account=account, role=role, organisation=org)
            if role == RoleGrant.Role.HWB_ADMIN:
                TOTPDevice.objects.update_or_create(
                    user=account,
                    name="Demo authenticator",
                    defaults={"key": base64.b32decode(DEMO_TOTP_KEY).hex(), "confirmed": True},
                )
            people[key] = account
        return people


def _academic_year_end_year():
    today = timezone.localdate()
    return today.year + (1 if today.month > 8 else 0)


def _csv(header, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _extracts(code):
    """The school's pupil and staff exports: deterministic, so a second run is an identical extract."""
    shape = SCHOOL_SHAPES[code]
    la, establishment = int(code[:3]), int(code[3:])
    rng = random.Random(int(code))
    year_now = timezone.localdate().year
    named = {(p[3], p[4]): p for p in PEOPLE if p[1] == code}
    pupils, serial = [], 0
    # The named demo people come first so that they get the plain username (OBrienL, not OBrienL3).
    for (forename, surname), person in named.items():
        if person[2] == K.LEARNER:
            serial += 1
            year = "9" if code == "6614001" else "4"
            pupils.append(
                [
                    surname,
                    forename,
                    upn_make(la, establishment, 21, serial),
                    f"{1000 + serial:06d}",
                    "01/09/2021",
                    year,
                    f"{year}A",
                    f"{year}Ma1",
                    "Y",
                ]
            )
    for year in shape["years"]:
        for n in range(shape["per_year"]):
            serial += 1
            forename, surname = rng.choice(FORENAMES), rng.choice(SURNAMES)
            group = f"{year}{'ABCDEFGH'[n % shape['groups']]}"
            offset = 0 if year == "R" else int(year) - (6 if int(year) > 6 else 0)
            intake = year_now - offset - 1
            classes = ";".join(f"{year}{s}{1 + n % 2}" for s in rng.sample(SUBJECTS, 2))
            pupils.append(
                [
                    surname,
                    forename,
                    upn_make(la, establishment, intake % 100, serial),
                    f"{1000 + serial:06d}",
                    f"01/09/{intake}",
                    year,
                    group,
                    classes,
                    "Y" if rng.random() > 0.1 else "N",
                ]
            )
    staff = []
    for (forename, surname), person in named.items():
        if person[2] == K.STAFF:
            staff.append(
                [surname, forename, f"{surname[:1].upper()}{forename[:2].upper()}", "01/09/2015", "Teacher"]
            )
    for n in range(shape["staff"]):
        staff.append(
            [rng.choice(SURNAMES), rng.choice(FORENAMES), f"S{n:03d}", f"01/09/{2010 + n % 14}", "Teacher"]
        )
    return _csv(PUPIL_HEADER, pupils), _csv(STAFF_HEADER, staff)
