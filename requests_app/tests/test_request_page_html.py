"""The request page written out in Python (`requests_app/templatetags/request_page.py`, `follow_card` in
`conversations/templatetags/conversations.py`) is the page the templates wrote, byte for byte.

`reference_templates/` holds the request page's templates as they were before those tags (the page, its timeline and
links partials, the follow card): each page below is rendered twice through the view, once with the templates in use
and once with the references put in front of them, at one frozen instant, and the two responses must be equal with
only their CSRF tokens masked (each render masks the token afresh). The views give both the same context. Users: the
requester, the vendor's engineer and lead, the program manager, eGov DevOps and the other vendor's engineer (on a
request of their own vendor's, and on one they may not see: the same 404); requests in every state, with comments,
internal notes, attachments, links, a rating, pauses, a needed-by date, markup in the text, and forms bound with
errors.

A deliberate change to the page's HTML changes the tags and the matching reference template together; the
references are not served anywhere.
"""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from attachments.services import attachment_add
from requests_app import services
from requests_app.choices import Priority, RequestState
from requests_app.forms import CommentForm
from requests_app.templatetags.request_page import fields_html
from requests_app.testing.workflow import file_request, walk_to

REFERENCES = Path(__file__).parent / "reference_templates"
TOKEN = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+"')
VIEWERS = ["requester", "vendor_engineer", "vendor_lead", "pm", "approver", "other_vendor_engineer"]
STATES = [
    RequestState.SUBMITTED,
    RequestState.QUEUED,
    RequestState.IN_PROGRESS,
    RequestState.WAITING_ON_REQUESTER,
    RequestState.BLOCKED,
    RequestState.PENDING_APPROVAL,
    RequestState.RESOLVED,
    RequestState.CLOSED,
    RequestState.REJECTED,
    RequestState.CANCELLED,
]


def _reference_templates() -> list[dict]:
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [REFERENCES, *templates[0]["DIRS"]]
    return templates


def _both(client: Client, method: str, path: str, data: dict | None = None) -> tuple[str, str]:
    """The response with the templates in use, and with the reference templates (a redirect followed, so that its
    message is shown on the page it leads to, not on the next one)."""
    send = client.post if method == "post" else client.get
    new = send(path, data or {}, follow=True)
    with override_settings(TEMPLATES=_reference_templates()):
        old = send(path, data or {}, follow=True)
    assert new.status_code == old.status_code, path
    return TOKEN.sub(r"\1…", new.content.decode()), TOKEN.sub(r"\1…", old.content.decode())


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _requests(world) -> list:
    """Requests in every state, one of them the other vendor's, with what the page shows around them."""
    made = [walk_to(world, state) for state in STATES]
    nasty = walk_to(
        world,
        RequestState.IN_PROGRESS,
        title="<b>Bold</b> & \"quoted\" 'title'",
        description="Line one <script>\n\nline & two",
        priority=Priority.P4,
        needed_by=timezone.localdate() + timedelta(days=30),
    )
    services.request_comment(nasty, actor=world.requester, body="A <i>comment</i> & more")
    services.request_comment(nasty, actor=world.vendor_engineer, body="Internal <b>note</b>", internal=True)
    services.link_add(
        actor=world.requester, service_request=nasty, relation="relates_to", other_reference=made[2].reference
    )
    attachment_add(nasty, actor=world.vendor_engineer, filename="a <b>.png", content=PNG)
    attachment_add(nasty, actor=world.vendor_engineer, filename="note.png", content=PNG, internal=True)
    made.append(nasty)
    closed = made[STATES.index(RequestState.CLOSED)]
    closed.rating, closed.rating_comment, closed.rated_at = 4, "Quick & <good>", timezone.now()
    closed.save(update_fields=["rating", "rating_comment", "rated_at"])
    other = file_request(world)
    other = services.TRANSITIONS["triage"].service(other, actor=world.pm, vendor=world.vendor_b)
    other = services.TRANSITIONS["pick_up"].service(other, actor=world.other_vendor_engineer)
    made.append(other)
    return made


@pytest.mark.django_db
def test_the_request_page_equals_the_templates_it_replaced(world):
    requests = _requests(world)
    clients = {}
    for name in VIEWERS:
        clients[name] = Client()
        clients[name].force_login(world.users[name])
    pages = attachments = 0
    with time_machine.travel(timezone.now() + timedelta(hours=5), tick=False):
        for service_request in requests:
            path = f"/requests/{service_request.reference}/"
            for name, client in clients.items():
                new, old = _both(client, "get", path)
                assert new == old, (name, service_request.state)
                pages += "Due times" in new
                attachments += '<div class="event__body"><a href=' in new
    assert pages > 40  # most of them are pages, not 404s
    assert attachments >= 4  # the timeline's attachment entries, for those who see the request


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["vendor_engineer", "pm", "requester"])
def test_the_request_page_with_forms_bound_with_errors_equals_the_templates(world, name):
    """An action, a link or an extension that failed re-renders the page with the user's input and its errors."""
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    reference = service_request.reference
    client = Client()
    client.force_login(world.users[name])
    with time_machine.travel(timezone.now() + timedelta(minutes=30), tick=False):
        posts = [
            (f"/requests/{reference}/links/", {"relation": "nonsense", "other": '<b>"x"</b>'}),
            (f"/requests/{reference}/transitions/escalate/", {"escalate-reason": ""}),
            (f"/requests/{reference}/transitions/reassign/", {"reassign-vendor": "999999"}),
            (f"/requests/{reference}/transitions/resolve/", {"resolve-reason": ""}),
            (f"/requests/{reference}/extensions/", {"measure": "response", "days": "-1", "reason": ""}),
        ]
        answered = 0
        for path, data in posts:
            new, old = _both(client, "post", path, data)
            assert new == old, path
            answered += "field-error" in new
    assert answered >= 1


@pytest.mark.django_db
def test_the_comment_partial_equals_its_template(world):
    """The timeline partial an htmx comment answers with (the comment form written by `form_fields`)."""
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    client = Client()
    client.force_login(world.vendor_engineer)
    with time_machine.travel(timezone.now() + timedelta(minutes=30), tick=False):
        new, old = _both(
            client, "post", f"/requests/{service_request.reference}/comments/", {"body": "", "internal": "on"}
        )
    assert new == old
    assert "field-error" in new


@pytest.mark.django_db
def test_a_form_kept_per_process_is_written_afresh_with_initial_values_or_input(world):
    """The comment form's HTML is kept once unbound; one started from a canned response, or bound, is its own."""
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    user = world.vendor_engineer

    def comment_form(*args, **kwargs) -> CommentForm:
        return CommentForm(*args, service_request=service_request, user=user, **kwargs)

    plain = fields_html(comment_form(initial={"body": ""}))
    assert fields_html(comment_form()) == plain
    started = fields_html(comment_form(initial={"body": "Hello <there>"}))
    assert "Hello &lt;there&gt;</textarea>" in started
    bound = comment_form({"body": "typed"})
    bound.is_valid()
    assert "typed</textarea>" in fields_html(bound)
    assert fields_html(comment_form()) == plain
    assert fields_html(CommentForm(service_request=service_request, user=world.requester)) != plain  # no checkbox
