"""Load the demo: a consortium, an LA, a primary and a secondary school full of learners and staff.

Rules: idempotent (running it again changes nothing and creates nobody twice); the named demo people get
the password DEMO_PASSWORD and a role each; about 1,200 learners with Welsh and English names are created
in bulk with unusable passwords (a password is set for them from the portal, as for any new learner).
Prints the demo sign-ins at the end.
"""

import random
from datetime import date

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.demo import FORENAMES, SURNAMES
from accounts.models import Account, Organisation, RoleGrant
from accounts.sealing import upn_hash
from accounts.services import display_name_for, email_for, role_grant
from accounts.usernames import username_allocate, usernames_allocate_bulk, usernames_bind

DEMO_PASSWORD = "CroesoHwb2026"  # noqa: S105 - the published demo password, printed on purpose.
K = Account.Kind
ORGS = [
    # code, kind, name, name_cy, phase, parent
    ("NATIONAL", "national", "Hwb", "Hwb", "", None),
    ("GWE", "consortium", "GwE North Wales consortium", "Consortiwm GwE Gogledd Cymru", "", None),
    ("661", "local_authority", "Gwynedd Council", "Cyngor Gwynedd", "", "GWE"),
    ("6612001", "school", "Aber Primary School", "Ysgol Gynradd Aber", "primary", "661"),
    ("6614001", "school", "Eryri High School", "Ysgol Uwchradd Eryri", "secondary", "661"),
]
PEOPLE = [
    # key, org code, kind, forename, surname, role grant, description
    ("national_admin", "NATIONAL", K.LA_NON_MIS, "Ifan", "Cadwaladr", RoleGrant.Role.HWB_ADMIN, "National Hwb administrator"),
    ("la_admin", "661", K.LA_NON_MIS, "Bethan", "Llwyd", RoleGrant.Role.HWB_ADMIN, "LA administrator (Gwynedd)"),
    ("dc_secondary", "6614001", K.STAFF, "Gwenllïan", "ap Rhys", RoleGrant.Role.DIGITAL_CHAMPION, "Digital Champion, Eryri High School"),
    ("teacher_secondary", "6614001", K.STAFF, "Huw", "Pritchard", None, "Teacher, Eryri High School"),
    ("dc_primary", "6612001", K.STAFF, "Mererid", "Hopcyn", RoleGrant.Role.DIGITAL_CHAMPION, "Digital Champion, Aber Primary School"),
    ("teacher_primary", "6612001", K.STAFF, "Sioned", "Wyn", None, "Teacher, Aber Primary School"),
    ("learner_secondary", "6614001", K.LEARNER, "Llŷr", "O'Brien", None, "Learner, Year 9, Eryri High School"),
    ("learner_primary", "6612001", K.LEARNER, "Ŵyn", "Jones-Williams", None, "Learner, Year 4, Aber Primary School"),
    ("governor", "6614001", K.GOVERNOR, "Alun", "Tudur", None, "Governor, Eryri High School"),
    ("supply", "6614001", K.SCHOOL_NON_MIS, "Carys", "Bevan", None, "Supply teacher (non-MIS), Eryri High School"),
]
SCHOOL_SHAPES = {
    "6612001": {"years": ["R", "1", "2", "3", "4", "5", "6"], "per_year": 57, "groups": 2, "staff": 15},
    "6614001": {"years": ["7", "8", "9", "10", "11"], "per_year": 160, "groups": 6, "staff": 45},
}
SUBJECTS = ["Ma", "Cy", "En", "Gw"]


class Command(BaseCommand):
    help = "Load the demo organisations, people and about 1,200 learners (idempotent)."

    def handle(self, *args, verbosity=1, **options):
        with transaction.atomic():
            orgs = self._organisations()
            people = self._people(orgs)
            created = sum(self._school(orgs[code], code) for code in SCHOOL_SHAPES)
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} accounts created this run)."))
            self.stdout.write(f"\nDemo sign-ins (password for all: {DEMO_PASSWORD}):")
            for key, *_rest, description in PEOPLE:
                self.stdout.write(f"  {people[key].username:<20} {description}")
            self.stdout.write("")

    def _organisations(self):
        orgs = {}
        for code, kind, name, name_cy, phase, parent in ORGS:
            org, _ = Organisation.objects.update_or_create(
                code=code,
                defaults={"kind": kind, "name": name, "name_cy": name_cy, "phase": phase,
                          "parent": orgs.get(parent)},
            )
            orgs[code] = org
        return orgs

    def _people(self, orgs):
        people = {}
        hashed = make_password(DEMO_PASSWORD)
        for key, code, kind, forename, surname, role, _description in PEOPLE:
            org = orgs[code]
            account = Account.objects.filter(
                organisation=org, kind=kind, legal_forename=forename, legal_surname=surname
            ).first()
            if account is None:
                username = username_allocate(forename=forename, surname=surname)
                extra = {}
                if kind == K.LEARNER:
                    year = "9" if key == "learner_secondary" else "4"
                    extra = {"year_group": year, "registration_group": f"{year}A", "admission_number": f"D{code[-4:]}",
                             "admission_date": date(2021, 9, 1), "upn_hash": upn_hash(f"DEMO-{key}"),
                             "classes": [f"{year}Ma1"], "consent": True}
                elif kind == K.STAFF:
                    extra = {"staff_code": surname[:3].upper(), "start_date": date(2015, 9, 1)}
                elif kind in (K.GOVERNOR, K.SCHOOL_NON_MIS):
                    extra = {"expires_on": date(timezone.localdate().year + 1, 8, 31)}
                account = Account.objects.create(
                    organisation=org, kind=kind,
                    source=Account.Source.MIS if kind in (K.LEARNER, K.STAFF) else Account.Source.MANUAL,
                    legal_forename=forename, legal_surname=surname,
                    display_name=display_name_for(kind, forename, surname),
                    username=username, email=email_for(username), password=hashed, **extra,
                )
                usernames_bind([account])
            if role:
                role_grant(account=account, role=role, organisation=org)
            people[key] = account
        return people

    def _school(self, school, code):
        shape = SCHOOL_SHAPES[code]
        if Account.objects.filter(organisation=school, kind=K.LEARNER).count() > 10:
            return 0
        rng = random.Random(int(code))
        today = timezone.localdate()
        rows = []
        adno = 1000
        for year in shape["years"]:
            for n in range(shape["per_year"]):
                forename, surname = rng.choice(FORENAMES), rng.choice(SURNAMES)
                group = f"{year}{'ABCDEFGH'[n % shape['groups']]}"
                adno += 1
                intake = today.year - (int(year) - 6 if year.isdigit() and int(year) > 6 else
                                       (int(year) if year.isdigit() else 0)) - 1
                rows.append({
                    "kind": K.LEARNER, "legal_forename": forename, "legal_surname": surname, "year_group": year,
                    "registration_group": group,
                    "classes": [f"{year}{s}{1 + n % 2}" for s in rng.sample(SUBJECTS, 2)],
                    "admission_number": f"{adno:06d}", "admission_date": date(intake, 9, 1),
                    "consent": rng.random() > 0.1, "upn_hash": upn_hash(f"DEMO-{code}-{adno}"),
                })
        for n in range(shape["staff"]):
            forename, surname = rng.choice(FORENAMES), rng.choice(SURNAMES)
            rows.append({"kind": K.STAFF, "legal_forename": forename, "legal_surname": surname,
                         "staff_code": f"S{n:03d}", "start_date": date(2010 + n % 14, 9, 1)})
        usernames = usernames_allocate_bulk([(r["legal_forename"], r["legal_surname"]) for r in rows])
        accounts = [
            Account(
                organisation=school, source=Account.Source.MIS, username=username, email=email_for(username),
                display_name=display_name_for(r["kind"], r["legal_forename"], r["legal_surname"]),
                password=make_password(None), **r,
            )
            for r, username in zip(rows, usernames, strict=True)
        ]
        Account.objects.bulk_create(accounts, batch_size=1000)
        usernames_bind(accounts)
        return len(accounts)
