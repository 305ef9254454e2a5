"""Welsh pages carry no English sentence from the catalogue (a string translated too early, at import, shows
English whatever the reader's language: the LA's Add new user warning did)."""

import html
import re

import polib
import pytest
from django.urls import reverse

from passwords.services import password_reset
from tests.test_translations import CATALOGUE

# The footer names the portal in both languages on purpose.
BILINGUAL = {"User Management Portal"}


def english_sentences():
    return [
        entry.msgid
        for entry in polib.pofile(str(CATALOGUE))
        if " " in entry.msgid and "%" not in entry.msgid and entry.msgstr and entry.msgstr != entry.msgid
        and entry.msgid not in BILINGUAL
    ]  # fmt: skip


@pytest.mark.django_db
def test_welsh_pages_have_no_english_sentences(
    login, digital_champion, teacher, secondary_learner, governor, la_admin, wales
):
    password_reset(account=secondary_learner, actor=teacher)
    school = [
        reverse("accounts:home"),
        reverse("accounts:profile"),
        *(reverse("accounts:user_list", args=[s]) for s in ("learners", "staff", "governors", "non-mis")),
        reverse("accounts:account_detail", args=[secondary_learner.pk]),
        reverse("accounts:account_detail", args=[governor.pk]),
        reverse("passwords:reset", args=[secondary_learner.pk]),
        reverse("passwords:own_password"),
        reverse("passwords:group_reset"),
        reverse("printing:group_choose"),
        reverse("printing:downloads"),
        reverse("accounts:audit"),
        reverse("accounts:manage_expiring"),
        reverse("provisioning:page"),
        reverse("accounts:manage_add_warning", args=["governors"]),
        reverse("accounts:manage_add", args=["governors"]),
        reverse("accounts:manage_rename", args=[governor.pk]),
        reverse("accounts:manage_deactivate", args=[governor.pk]),
    ]
    la = [
        reverse("accounts:user_list", args=["organisation"]),
        reverse("accounts:manage_add_warning", args=["organisation"]) + f"?org={wales.la.code}",
        reverse("accounts:manage_add", args=["organisation"]) + f"?org={wales.la.code}",
    ]
    sentences = english_sentences()
    found = {}
    for person, urls in ((digital_champion, school), (la_admin, la)):
        client = login(person)
        client.cookies["django_language"] = "cy"
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            page = re.sub(r"<script.*?</script>", "", html.unescape(response.content.decode()), flags=re.S)
            english = [sentence for sentence in sentences if sentence in page]
            if english:
                found[url] = english
    assert not found
