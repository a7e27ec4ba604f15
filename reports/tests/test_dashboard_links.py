"""One meaning per number: every dashboard tile links to the list filter that shows the same requests."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from .conftest import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    """Dashboard and lists read the clock; freeze it at the data set's NOW."""
    with time_machine.travel(NOW, tick=False):
        yield


TILES = ["open-total", "backlog", "at-risk", "breached", "today-intake"]


def _listed(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    page = response.context["page"]
    assert len(page.object_list) == page.paginator.count  # the data set fits one page: rows, not a capped count
    return page.paginator.count


@pytest.mark.parametrize("who", ["pm", "vendor_lead", "other_vendor_lead"])
def test_every_tile_counts_the_rows_of_the_list_it_links_to(client, dataset, frozen, who):
    client.force_login(getattr(dataset.world, who))
    response = client.get(reverse("reports-dashboard"))
    tiles = {tile["id"]: tile for tile in response.context["tiles"]}
    assert list(tiles) == TILES
    html = response.content.decode()
    for tile in tiles.values():
        assert f'href="{tile["url"].replace("&", "&amp;")}"' in html
        assert _listed(client, tile["url"]) == tile["value"], tile
    for _label, count, url in [*response.context["open_by_state"], *response.context["open_by_priority"]]:
        assert _listed(client, url) == count, url
    dashboard = response.context["dashboard"]
    assert dashboard.week.summary.backlog == dashboard.backlog  # the weekly report's backlog, at now


def test_the_data_set_tells_the_definitions_apart(client, dataset, frozen):
    """The seeded states make every pair differ, so the agreement above is not agreement between zeros."""
    client.force_login(dataset.world.pm)
    tiles = {tile["id"]: tile["value"] for tile in client.get(reverse("reports-dashboard")).context["tiles"]}
    assert tiles["open-total"] < tiles["backlog"]  # R2 is resolved, awaiting confirmation
    breached_ever = _listed(client, f"{reverse('home')}?sla_status=breached")
    assert 0 < tiles["breached"] < breached_ever  # R1 and R11 breached and are closed
    html = client.get(reverse("reports-dashboard")).content.decode()
    assert "SLA breached, still open" in html and "SLA at risk, still open" in html


def test_a_vendor_engineer_gets_no_dashboard_but_the_same_scoped_lists_as_their_lead(client, dataset, frozen):
    world = dataset.world
    client.force_login(world.other_vendor_lead)
    tiles = client.get(reverse("reports-dashboard")).context["tiles"]
    client.force_login(world.other_vendor_engineer)
    assert client.get(reverse("reports-dashboard")).status_code == 403
    for tile in tiles:
        assert _listed(client, tile["url"]) == tile["value"], tile
