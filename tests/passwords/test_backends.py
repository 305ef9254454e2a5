import pytest
from django.contrib.auth import authenticate

from passwords import services
from tests.factories import learner

pytestmark = pytest.mark.django_db


@pytest.fixture
def bulk_learner(wales):
    """An account as provisioning creates it: no usable hash, a sealed initial password."""
    account = learner(wales.secondary, legal_forename="Ŵyn", legal_surname="Pugh")
    account.set_unusable_password()
    account.save(update_fields=["password"])
    services.shown_passwords_store_bulk(items=[(account.pk, "Draenog358")])
    return account


class SealedCopyBackendTests:
    def test_it_signs_in_from_the_sealed_copy_and_then_stores_the_hash(self, bulk_learner, rf):
        user = authenticate(rf.post("/login/"), username=bulk_learner.username, password="Draenog358")
        assert user == bulk_learner
        bulk_learner.refresh_from_db()
        assert bulk_learner.has_usable_password()
        assert bulk_learner.password.startswith("argon2")
        assert bulk_learner.check_password("Draenog358")

    def test_a_wrong_password_is_refused_and_nothing_is_stored(self, bulk_learner, rf):
        assert authenticate(rf.post("/login/"), username=bulk_learner.username, password="Draenog359") is None
        bulk_learner.refresh_from_db()
        assert not bulk_learner.has_usable_password()

    def test_it_does_not_answer_once_a_hash_exists(self, secondary_learner, rf):
        services.shown_passwords_store_bulk(items=[(secondary_learner.pk, "Draenog358")])
        # The account has a real hash (the factory's): the sealed copy is not a second way in.
        assert (
            authenticate(rf.post("/login/"), username=secondary_learner.username, password="Draenog358")
            is None
        )

    def test_a_deactivated_account_cannot_sign_in(self, bulk_learner, rf):
        bulk_learner.status = bulk_learner.Status.DEACTIVATED
        bulk_learner.save(update_fields=["status"])
        assert authenticate(rf.post("/login/"), username=bulk_learner.username, password="Draenog358") is None

    def test_it_works_through_the_sign_in_page(self, bulk_learner, client):
        response = client.post("/login/", {"username": bulk_learner.email, "password": "Draenog358"})
        assert response.status_code == 302
        assert client.session.get("_auth_user_id") == str(bulk_learner.pk)
