"""E-mail in, end to end: real messages over SMTP and LMTP to the listener, and through the `mail_intake` pipe."""

from __future__ import annotations

import email.policy
import os
import smtplib
import subprocess
import sys
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.core import mail

from attachments.models import Attachment
from conversations.addresses import message_id, reply_address
from inbound import addresses
from inbound.listener import IntakeController
from inbound.models import InboundMessage, InboundStatus
from inbound.services import EX_DATAERR, EX_NOUSER, EX_OK, EX_TEMPFAIL, mail_receive
from requests_app.choices import EventKind, Priority, RequestState, RequestType
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.testing.workflow import file_request
from requests_app.tests.factories import EnvironmentFactory
from tests.support.waiting import free_port
from tests.support.worker import worker_database_url

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
INTAKE = "portico@localhost"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def message(
    *,
    sender: str = "asha@example.test",
    to: str = "portico+punjab.troubleshooting.p2@localhost",
    subject: str = "Pods crash-looping in UAT",
    body: str = "The mgramseva pods restart every minute since this morning.",
    attach: bytes | None = None,
    message_id: str = "",
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Asha <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="example.test")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    if attach is not None:
        msg.add_attachment(attach, maintype="image", subtype="png", filename="screenshot.png")
    return msg.as_bytes(policy=email.policy.SMTP)  # CRLF line ends, as on the wire


@pytest.fixture
def listener() -> Iterator[Callable[..., IntakeController]]:
    started: list[IntakeController] = []

    def start(*, lmtp: bool = False) -> IntakeController:
        controller = IntakeController(hostname="127.0.0.1", port=free_port(), lmtp=lmtp, ready_timeout=30)
        controller.start()  # returns once the socket answers, or raises after ready_timeout
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()


def send(controller: IntakeController, raw: bytes, *, to: str, sender: str = "asha@example.test") -> dict:
    client_class = smtplib.LMTP if controller.lmtp else smtplib.SMTP
    with client_class(controller.hostname, controller.port, timeout=60) as client:
        if controller.lmtp:
            client.ehlo_or_helo_if_needed()
        return client.sendmail(sender, [to], raw)


def pipe(
    raw: bytes, *, media: Path, to: str | None = None, sender: str = "asha@example.test"
) -> subprocess.CompletedProcess:
    command = [sys.executable, "manage.py", "mail_intake", "--sender", sender]
    if to:
        command += ["--recipient", to]
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "PORTICO_MEDIA_ROOT": str(media)}
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
    return subprocess.run(command, input=raw, cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)  # noqa: S603


# --- filing ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lmtp", [False, True], ids=["smtp", "lmtp"])
def test_a_message_to_the_intake_files_a_request_over_the_listener(world, listener, lmtp):
    controller = listener(lmtp=lmtp)
    to = "portico+punjab.troubleshooting.p2@localhost"
    refused = send(controller, message(to=to, attach=PNG), to=to)
    assert refused == {}
    service_request = ServiceRequest.objects.get(title="Pods crash-looping in UAT")
    assert service_request.requester == world.requester
    assert service_request.team == world.team_a
    assert (service_request.environment, service_request.request_type, service_request.priority) == (
        world.environment, RequestType.TROUBLESHOOTING, Priority.P2,
    )  # fmt: skip
    assert service_request.state == RequestState.SUBMITTED  # waits in the PM's triage inbox
    assert "restart every minute" in service_request.description
    filed = RequestEvent.objects.get(service_request=service_request, kind=EventKind.FILED)
    assert filed.payload["channel"] == "email"
    attachment = Attachment.objects.get(service_request=service_request)
    assert (attachment.filename, attachment.content_type, attachment.source) == ("screenshot.png", "image/png", "email")
    assert attachment.event == filed  # so the "filed" notice e-mails carry it
    record = InboundMessage.objects.get()
    assert (record.status, record.service_request, record.user) == (
        InboundStatus.FILED,
        service_request,
        world.requester,
    )


def test_a_message_through_the_pipe_files_a_request_with_defaults(world, media):
    result = pipe(message(to=INTAKE, subject="Need a namespace"), media=media, to=INTAKE)
    assert result.returncode == EX_OK, result.stderr.decode()
    service_request = ServiceRequest.objects.get(title="Need a namespace")
    # The bare address: the only environment, troubleshooting, P3.
    assert (service_request.request_type, service_request.priority) == (RequestType.TROUBLESHOOTING, Priority.P3)
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.FILED
    assert (media / record.raw.name).read_bytes().startswith(b"From: Asha")


def test_the_pipe_finds_the_recipient_in_the_headers_without_an_argument(world, media):
    result = pipe(message(to="portico+p1@localhost", subject="Cluster down"), media=media)
    assert result.returncode == EX_OK, result.stderr.decode()
    assert ServiceRequest.objects.get(title="Cluster down").priority == Priority.P1


def test_a_p4_asked_for_by_e_mail_is_filed_as_p3_and_says_why(world):
    # A P4 is due at its needed-by date, which an e-mail cannot carry: never a P4 without one.
    to = "portico+p4@localhost"
    outcome = mail_receive(message(to=to, subject="Quota next month"), recipients=[to])
    assert outcome.status == InboundStatus.FILED
    service_request = ServiceRequest.objects.get(title="Quota next month")
    assert (service_request.priority, service_request.needed_by) == (Priority.P3, None)
    assert "Asked for P4 by e-mail" in service_request.description
    assert service_request.resolution_due_at is not None  # P3's ten working days, not "never"
    filed = RequestEvent.objects.get(service_request=service_request, kind=EventKind.FILED)
    assert filed.payload["asked_priority"] == "P4"


def test_an_unknown_part_in_the_address_bounces_with_how_to(world):
    outcome = mail_receive(message(to="portico+nowhere@localhost"), recipients=["portico+nowhere@localhost"])
    assert outcome.status == InboundStatus.BOUNCED and outcome.exit_code == EX_OK
    assert not ServiceRequest.objects.exists()
    assert "nowhere" in mail.outbox[0].body and "portico+punjab.troubleshooting.p2" in mail.outbox[0].body


def test_with_several_environments_the_bare_address_bounces_with_how_to(world):
    EnvironmentFactory(code="bihar", name="Bihar")
    outcome = mail_receive(message(to=INTAKE), recipients=[INTAKE])
    assert outcome.status == InboundStatus.BOUNCED and not ServiceRequest.objects.exists()
    assert "Say which environment" in mail.outbox[0].body
    assert mail_receive(message(to="portico+bihar@localhost"), recipients=["portico+bihar@localhost"]).status == (
        InboundStatus.FILED
    )


def test_what_the_services_refuse_bounces_with_their_reason(world):
    outcome = mail_receive(message(sender="opti-eng@example.test", to=INTAKE), recipients=[INTAKE])
    assert outcome.status == InboundStatus.BOUNCED and not ServiceRequest.objects.exists()
    assert "Vendor accounts work requests; they cannot file them." in mail.outbox[0].body


# --- replies --------------------------------------------------------------------------------------------
REPLY = """Yes, it is the mgramseva-uat namespace.

Thanks,
Asha

On Thu, Dec 3, 2026 at 10:12, Portico <portico@localhost> wrote:
> OptIT needs information: which namespace?
> -- Portico
"""


def test_a_reply_to_the_request_address_becomes_a_comment_without_the_quote(world, listener):
    service_request = file_request(world)
    to = reply_address(service_request.reference, world.requester.pk)
    send(listener(), message(to=to, subject=f"Re: {service_request.reference}", body=REPLY, attach=PNG), to=to)
    comment = RequestEvent.objects.get(service_request=service_request, kind=EventKind.COMMENT)
    assert comment.actor == world.requester
    assert comment.message == "Yes, it is the mgramseva-uat namespace."
    attachment = Attachment.objects.get(service_request=service_request)
    assert (attachment.event, attachment.source) == (comment, "email")  # kept with the comment it came with
    assert InboundMessage.objects.get().status == InboundStatus.COMMENTED


def test_a_reply_naming_a_portico_message_id_becomes_a_comment_through_the_pipe(world, media):
    service_request = file_request(world)
    filed = service_request.events.get(kind=EventKind.FILED)
    thread = message_id(service_request.reference, filed.pk, world.requester.pk)  # what notifications wrote
    raw = message(to=INTAKE, subject="Re: your request", body=REPLY, In_Reply_To=thread, References=thread)
    result = pipe(raw, media=media, to=INTAKE)
    assert result.returncode == EX_OK, result.stderr.decode()
    comment = RequestEvent.objects.get(service_request=service_request, kind=EventKind.COMMENT)
    assert comment.message == "Yes, it is the mgramseva-uat namespace."


def test_a_reply_with_a_forged_token_bounces(world, listener):
    service_request = file_request(world)
    to = f"portico+{service_request.reference}.0000000000000000@localhost"
    send(listener(), message(to=to, body="hello"), to=to)
    assert not RequestEvent.objects.filter(kind=EventKind.COMMENT).exists()
    assert InboundMessage.objects.get().status == InboundStatus.BOUNCED
    assert "not a valid reply address" in mail.outbox[0].body


def test_a_reply_from_someone_the_request_is_hidden_from_bounces(world):
    service_request = file_request(world)
    to = reply_address(service_request.reference, world.requester.pk)  # someone else's address, forwarded
    outcome = mail_receive(message(sender="bala@example.test", to=to, body="me too"), recipients=[to])
    assert outcome.status == InboundStatus.BOUNCED
    assert not RequestEvent.objects.filter(kind=EventKind.COMMENT).exists()
    assert mail.outbox[0].to == ["bala@example.test"]


def test_request_for_reply_address_verifies_the_token(world):
    service_request = file_request(world)
    genuine = reply_address(service_request.reference, world.requester.pk)
    assert addresses.request_for_reply_address(genuine) == service_request
    forged = genuine.replace(service_request.reference, "REQ-999999")
    assert addresses.request_for_reply_address(forged) is None
    assert addresses.request_for_reply_address("someone@localhost") is None


# --- bounces, drops, refusals ---------------------------------------------------------------------------
def test_an_unknown_sender_gets_a_bounce_and_the_message_is_kept(world, listener, media):
    send(listener(), message(sender="stranger@elsewhere.test"), to=INTAKE, sender="stranger@elsewhere.test")
    assert not ServiceRequest.objects.exists()
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.BOUNCED and record.sender == "stranger@elsewhere.test"
    assert (media / record.raw.name).read_bytes().startswith(b"From: Asha <stranger@elsewhere.test>")
    (bounce,) = mail.outbox
    assert bounce.to == ["stranger@elsewhere.test"]
    assert bounce.subject == "Undelivered: Pods crash-looping in UAT"
    assert "not the e-mail address of a Portico user" in bounce.body
    assert bounce.extra_headers["Auto-Submitted"] == "auto-replied"  # so their autoresponder stays quiet


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"X_Autoreply": "yes"},
        {"List_Id": "<ops.lists.example.test>"},
    ],
    ids=["auto-submitted", "precedence-bulk", "precedence-junk", "x-autoreply", "list"],
)
def test_auto_replies_are_dropped_and_recorded(world, headers):
    outcome = mail_receive(message(to=INTAKE, **headers), recipients=[INTAKE])
    assert (outcome.status, outcome.exit_code) == (InboundStatus.DROPPED, EX_OK)
    assert not ServiceRequest.objects.exists() and not mail.outbox  # no request, and no bounce to a robot
    assert InboundMessage.objects.get().status == InboundStatus.DROPPED


def test_a_delivery_report_is_dropped(world):
    outcome = mail_receive(message(to=INTAKE), recipients=[INTAKE], envelope_sender="<>")
    assert outcome.status == InboundStatus.DROPPED and not mail.outbox and not ServiceRequest.objects.exists()


def test_auto_submitted_no_is_a_person(world):
    assert mail_receive(message(to=INTAKE, Auto_Submitted="no"), recipients=[INTAKE]).status == InboundStatus.FILED


def test_our_own_message_coming_back_is_a_loop_dropped_over_smtp(world, listener):
    raw = message(to=INTAKE, message_id=make_msgid(domain="localhost"))  # the Message-ID's domain is ours
    send(listener(), raw, to=INTAKE)
    assert not ServiceRequest.objects.exists() and not mail.outbox
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.DROPPED and "came back" in record.reason


def test_a_sender_over_the_rate_limit_is_dropped(world, settings):
    settings.PORTICO_MAIL_RATE_PER_HOUR = 2
    outcomes = [mail_receive(message(to=INTAKE, subject=f"n{i}"), recipients=[INTAKE]).status for i in range(3)]
    assert outcomes == [InboundStatus.FILED, InboundStatus.FILED, InboundStatus.DROPPED]
    assert ServiceRequest.objects.count() == 2


def test_an_oversized_message_is_refused_over_smtp_and_kept(world, listener, settings):
    settings.PORTICO_MAIL_MAX_BYTES = 4000
    controller = listener()
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(controller, message(to=INTAKE, body=("x" * 70 + "\n") * 80), to=INTAKE)
    assert refused.value.smtp_code == 552
    assert not ServiceRequest.objects.exists()
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.REFUSED and record.size > 4000


def test_an_oversized_message_is_refused_through_the_pipe(world, media):
    big = message(to=INTAKE, body=("x" * 99 + "\n") * (26 * 1024 * 1024 // 100))  # over the 25 MB default
    result = pipe(big, media=media, to=INTAKE)
    assert result.returncode == EX_DATAERR
    assert b"Portico takes at most 25.0" in result.stderr
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.REFUSED and record.size == len(big)
    assert (media / record.raw.name).stat().st_size <= 64 * 1024  # only the head is kept
    assert not ServiceRequest.objects.exists()


def test_a_message_to_another_mailbox_is_refused(world, listener, media):
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(listener(), message(to="someone@localhost"), to="someone@localhost")
    result = pipe(message(to="someone@localhost"), media=media, to="someone@localhost")
    assert result.returncode == EX_NOUSER
    assert not InboundMessage.objects.exists()


def test_a_malformed_message_is_refused_and_kept(world):
    outcome = mail_receive(b"this is not an e-mail at all", recipients=[INTAKE])
    assert (outcome.status, outcome.exit_code) == (InboundStatus.REFUSED, EX_DATAERR)
    assert InboundMessage.objects.get().status == InboundStatus.REFUSED


def test_storage_down_is_a_temporary_failure_with_nothing_half_written(world, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "attachments.tests.storages.BrokenStorage"}}
    outcome = mail_receive(message(to=INTAKE, attach=PNG), recipients=[INTAKE])
    assert (outcome.exit_code, outcome.smtp_reply[:3]) == (EX_TEMPFAIL, "451")  # the MTA tries again later
    assert not ServiceRequest.objects.exists()
    assert not Attachment.objects.exists() and not InboundMessage.objects.exists()


# --- the review page ------------------------------------------------------------------------------------
def test_the_program_manager_reviews_inbound_mail_and_nobody_else_does(world, client):
    mail_receive(message(sender="stranger@elsewhere.test", to=INTAKE), recipients=[INTAKE])
    record = InboundMessage.objects.get()
    client.force_login(world.pm)
    page = client.get("/mail/inbound/")
    assert page.status_code == 200 and b"stranger@elsewhere.test" in page.content
    raw = client.get(f"/mail/inbound/{record.pk}/raw/")
    assert raw.status_code == 200 and raw["Content-Type"].startswith("text/plain")
    assert b"Pods crash-looping" in raw.content
    for user in (world.requester, world.vendor_lead, world.approver):
        client.force_login(user)
        assert client.get("/mail/inbound/").status_code == 403
        assert client.get(f"/mail/inbound/{record.pk}/raw/").status_code == 403
