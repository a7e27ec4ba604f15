"""The request page in one column (a phone, a tablet): the description, the actions and the due times come first,
then every other card in the page's own order, so the timeline never sits above what the person can do and a card
added later does not jump to the top."""

from __future__ import annotations

import pytest

from requests_app.choices import RequestState
from requests_app.testing.workflow import walk_to
from sla.defaults import ensure_defaults
from tests.browser.support import LAPTOP, PHONE, TABLET, Session, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each card of the two columns in source order (main, then side), with its heading and where it starts on the page.
CARDS = """() => [...document.querySelectorAll('.request-layout__main > *, .request-layout__side > *')]
  .filter(card => card.getBoundingClientRect().height > 0)
  .map(card => [card.querySelector('h2')?.textContent.trim() || card.id, card.getBoundingClientRect().top + scrollY,
                card.getBoundingClientRect().left])"""
FIRST = ["Description", "Actions", "Due times"]


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["390", "768"])
def test_one_column_puts_what_to_do_first_then_keeps_the_pages_order(live_server, world, viewport):
    ensure_defaults()
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    with chromium() as browser:
        engineer = Session(browser, live_server.url, world.vendor_engineer.username, viewport)
        engineer.page.goto(f"/requests/{service_request.reference}/")
        cards = engineer.page.evaluate(CARDS)
        in_source = [name for name, _, _ in cards]
        on_screen = [name for name, _, _ in sorted(cards, key=lambda card: card[1])]
        assert set(FIRST) < set(in_source), in_source
        assert {"Linked requests", "Timeline", "Details"} < set(in_source), in_source
        assert on_screen == FIRST + [name for name in in_source if name not in FIRST], on_screen
        assert len({round(left) for _, _, left in cards}) == 1  # one column
        engineer.context.close()


def test_two_columns_on_a_laptop(live_server, world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    with chromium() as browser:
        engineer = Session(browser, live_server.url, world.vendor_engineer.username, LAPTOP)
        engineer.page.goto(f"/requests/{service_request.reference}/")
        cards = {name: left for name, _, left in engineer.page.evaluate(CARDS)}
        assert cards["Actions"] > cards["Description"] == cards["Timeline"]
        engineer.context.close()
