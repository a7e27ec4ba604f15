"""Notifications that respect the workflow: the vendor hears nothing before eGov DevOps approves, everyone
concerned hears the approval, and catching up on SLA flags (a fresh install's first scan, or after downtime)
sends one summary per person instead of one notice per clock. Also: muting, per-channel choices, the digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from conversations.delivery import notify, send_batches, user_modes_set
from conversations.models import Batch, Channel, Delivery, DeliveryState, Mode
from conversations.tasks import conversations_send_digests, conversations_send_summaries
from conversations.watchers import mute
from requests_app import services
from requests_app.choices import EventKind, Priority, RequestType
from requests_app.models import Notification
from requests_app.testing.workflow import file_request
from sla.services import sla_scan

pytestmark = pytest.mark.django_db


def _told(event) -> set[str]:
    return set(Notification.objects.filter(event=event).values_list("user__username", flat=True))


def test_the_vendor_hears_nothing_before_approval_and_hears_the_approval(world):
    service_request = file_request(world, request_type=RequestType.ACCESS_OPS)
    services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    triage = service_request.events.get(kind=EventKind.TRIAGE)
    mail.outbox.clear()
    notify(triage)

    assert _told(triage) == {"asha", "egov"}
    assert not Notification.objects.filter(user__vendor=world.vendor_a).exists()
    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.requester.email, world.approver.email])
    assert next(m for m in mail.outbox if m.to == [world.approver.email]).subject.endswith(
        f"awaits your approval: {service_request.title}"
    )

    services.request_approve(service_request, actor=world.approver)
    approve = service_request.events.get(kind=EventKind.APPROVE)
    mail.outbox.clear()
    notify(approve)

    assert _told(approve) == {"asha", "opti-eng", "opti-lead", "pm"}
    assert {m.subject for m in mail.outbox} == {f"{service_request.reference} approved"}


def test_the_first_scan_after_downtime_sends_one_summary_per_person(world):
    requests = [file_request(world, priority=Priority.P0, title=f"Outage {n}") for n in range(4)]
    for service_request in requests:
        services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    mail.outbox.clear()

    with time_machine.travel(timezone.now() + timedelta(days=3)):
        counts = sla_scan()
        flagged = counts["breached"] + counts["at_risk"]
        assert flagged >= 8  # at least the SLA and OLA response clocks of each

        # Nothing goes out one by one, in the portal or by e-mail...
        assert not Notification.objects.filter(event__kind__in=[EventKind.SLA_BREACHED, EventKind.SLA_AT_RISK]).exists()
        assert not Delivery.objects.filter(batch=Batch.SUMMARY).exclude(state=DeliveryState.HELD).exists()

        # ...the next summary run sends one message per person, listing every flag.
        assert conversations_send_summaries.apply().result == 6  # pm, egov, opti-lead × (e-mail, in the portal)
        assert conversations_send_summaries.apply().result == 0

    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([world.pm.email, world.approver.email, world.vendor_lead.email])
    pm_mail = next(m for m in mail.outbox if m.to == [world.pm.email])
    assert all(sr.reference in pm_mail.body for sr in requests)
    assert pm_mail.subject.startswith("Portico: ") and "SLA notices since the last check" in pm_mail.subject
    assert Notification.objects.filter(user=world.pm).exclude(summary="").count() == 1
    assert not Delivery.objects.filter(batch=Batch.SUMMARY).exclude(state=DeliveryState.BATCHED).exists()


def test_a_muted_request_tells_me_nothing(world):
    service_request = file_request(world)
    services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    mute(service_request, world.requester, muted=True)

    services.request_pick_up(service_request, actor=world.vendor_engineer)

    pick_up = service_request.events.get(kind=EventKind.PICK_UP)
    assert _told(pick_up) == set()
    assert not Delivery.objects.filter(event=pick_up).exists()


def test_channels_off_or_in_a_daily_digest(world):
    user_modes_set(world.requester, {Channel.EMAIL: Mode.DIGEST, Channel.IN_APP: Mode.OFF})
    first, second = file_request(world, title="First"), file_request(world, title="Second")
    for service_request in (first, second):
        services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    mail.outbox.clear()
    for service_request in (first, second):
        notify(service_request.events.get(kind=EventKind.TRIAGE))

    assert not Notification.objects.filter(user=world.requester).exists()  # in the portal: off
    assert world.requester.email not in [m.to[0] for m in mail.outbox]  # e-mail: held for the digest
    mail.outbox.clear()

    assert conversations_send_digests.apply().result == 1
    [digest] = mail.outbox
    assert digest.to == [world.requester.email] and digest.subject == "Portico daily digest: 2 updates"
    assert first.reference in digest.body and second.reference in digest.body
    assert send_batches(Batch.DIGEST) == 0  # nothing held twice
