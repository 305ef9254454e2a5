"""A sign-in name is found through the case-insensitive unique indexes, not by reading every account."""

import pytest
from django.db import connection

from accounts.backends import find_account
from accounts.models import Account

pytestmark = pytest.mark.django_db


def test_any_case_finds_the_account(teacher):
    assert find_account(teacher.username.upper()) == teacher
    assert find_account(teacher.email.upper()) == teacher
    assert Account.objects.get_by_natural_key(teacher.username.swapcase()) == teacher


@pytest.mark.postgres_only(reason="reads PostgreSQL's query plan")
@pytest.mark.parametrize(
    ("field", "index"), [("username", "account_username_ci_unique"), ("email", "account_email_ci_unique")]
)
def test_the_lookup_uses_the_lower_index(teacher, field, index):
    sql, params = Account.objects.filter(**{f"{field}__lower_exact": "SomeOne"}).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small would be read whole anyway
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
