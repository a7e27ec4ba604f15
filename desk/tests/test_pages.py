"""The desk's pages without JavaScript: filters by plain GET, bulk by plain POST, views by plain forms."""

from __future__ import annotations

import re

import pytest

from desk.models import SavedView
from requests_app.choices import RequestState
from requests_app.testing.workflow import file_request, walk_to
from sla.defaults import ensure_defaults

pytestmark = pytest.mark.django_db
ROW = re.compile(r'<th scope="row"><a href="/requests/(REQ-\d+)/">')


def rows(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return ROW.findall(response.content.decode())


def test_filters_work_by_plain_get_with_an_apply_button_for_browsers_without_javascript(client, world):
    ensure_defaults()
    blocked = walk_to(world, RequestState.BLOCKED)
    file_request(world)
    client.force_login(world.pm)
    page = client.get("/", {"quick": "blocked"})
    assert rows(page) == [blocked.reference]
    html = page.content.decode()
    assert '<noscript><button type="submit" class="button">Apply</button></noscript>' in html
    assert 'hx-get="/"' in html and 'hx-push-url="true"' in html
    assert re.search(r'<input type="radio" name="quick" value="blocked"[^>]*checked', html)


def test_bulk_by_plain_post_lists_done_and_refused_rows(client, world):
    ensure_defaults()
    submitted = file_request(world)
    queued = walk_to(world, RequestState.QUEUED)
    client.force_login(world.pm)
    response = client.post(
        "/desk/bulk/",
        {"action": "triage", "references": [submitted.reference, queued.reference], "vendor": "optit", "next": "/"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Triage: 1 done, 1 refused" in html
    assert re.search(rf"{queued.reference}</th>\s*<td>Refused</td>\s*<td>Cannot triage a request that is queued", html)
    fragment = client.post(
        "/desk/bulk/", {"action": "cancel", "references": [submitted.reference]}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in fragment and "Refused" in fragment  # htmx gets the fragment; the PM may not cancel


def test_saving_a_default_view_opens_it_when_the_list_is_opened_plainly(client, world):
    client.force_login(world.vendor_engineer)
    response = client.post(
        "/desk/views/",
        {"name": "Our urgent", "query": "quick=mine&sort=-priority", "list_name": "queue", "sharing": "vendor",
         "is_default": "on"},
    )  # fmt: skip
    view = SavedView.objects.get()
    assert response["Location"] == f"/queue/?view={view.pk}"
    assert (view.sharing, view.vendor, view.is_default) == ("vendor", world.vendor_a, True)
    assert client.get("/queue/")["Location"] == f"/queue/?view={view.pk}"
    assert client.get("/queue/", {"sort": "sla"}).status_code == 200  # any parameter shows the plain list
    client.force_login(world.vendor_lead)  # shared with the vendor: seen, but not the lead's default
    assert client.get("/queue/").status_code == 200
    assert "Our urgent" in client.get("/queue/", {"sort": "sla"}).content.decode()
    client.force_login(world.other_vendor_engineer)
    assert "Our urgent" not in client.get("/queue/", {"sort": "sla"}).content.decode()
    assert client.get("/queue/", {"view": view.pk}).status_code == 200  # an unknown view: a message, not their rows
