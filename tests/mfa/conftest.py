"""Fixtures of multi-factor sign-in: an authenticator set up, the code it shows, a school's trusted network."""

import base64
import time

import pyotp
import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import DEMO_PASSWORD

SCHOOL_NETWORK = "192.0.2.0/24"
AT_SCHOOL = "192.0.2.10"
AT_HOME = "203.0.113.7"


def code_of(device, *, later=0):
    """The code the person's app shows (`later` steps on: a code already used is refused until the next)."""
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).at(time.time() + 30 * later)


def sign_in(client, account, *, ip=AT_HOME, password=DEMO_PASSWORD, next_url=None):
    url = reverse("accounts:login") + (f"?next={next_url}" if next_url else "")
    data = {"username": account.username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(url, data, REMOTE_ADDR=ip)


def second_step(client, code, *, ip=AT_HOME):
    return client.post(reverse("mfa:verify"), {"code": code}, REMOTE_ADDR=ip)


@pytest.fixture
def school_network(wales):
    wales.secondary.trusted_networks = [SCHOOL_NETWORK]
    wales.secondary.save()
    return wales.secondary


@pytest.fixture
def teacher_app(teacher):
    return TOTPDevice.objects.create(user=teacher, name="phone", confirmed=True)
