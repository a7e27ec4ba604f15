"""The kernel's hooks that the domain fills in its AppConfig.ready()."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.metrics import _collectors
from portal.models import User
from portal.otp import services as otp


def test_the_domain_registers_its_staff_rule_and_its_metrics():
    assert otp._staff_rules
    assert list(_collectors) == ["requests", "sla", "provisioning"]


def test_the_staff_two_factor_rule_fails_closed_when_no_app_said_who_staff_are(monkeypatch, settings):
    settings.PORTICO_REQUIRE_OTP_FOR_STAFF = True
    monkeypatch.setattr(otp, "_staff_rules", [])

    with pytest.raises(ImproperlyConfigured):
        otp.otp_enforced_for(User(username="someone"))


def test_the_staff_rule_is_not_asked_while_the_setting_is_off(monkeypatch, settings):
    settings.PORTICO_REQUIRE_OTP_FOR_STAFF = False
    monkeypatch.setattr(otp, "_staff_rules", [])

    assert otp.otp_enforced_for(User(username="someone")) is False
