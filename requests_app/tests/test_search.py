"""Full-text search: the trigger-kept documents, ranking, web search syntax, who finds what, snippets, the API."""

from __future__ import annotations

import importlib
import random
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import CharField, F, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.test.utils import CaptureQueriesContext

from requests_app import querysets, search, search_compiled, services
from requests_app.choices import RequestState
from requests_app.models import RequestSearchDocument, ServiceRequest
from requests_app.search import search_snippets, snippet_html
from requests_app.testing.workflow import file_request, walk_to

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<th scope="row"><a href="/requests/(REQ-\d+)/">')


def found(user, text: str) -> list[str]:
    """References `user` finds for `text`, best first, as the list and the API do: visible rows, then the search."""
    return list(
        ServiceRequest.objects.visible_to(user).search_text(text, user=user).values_list("reference", flat=True)
    )


def test_ranking_puts_the_title_match_before_the_description_and_comment_matches(world):
    in_comment = file_request(world, title="Quota for reports", description="CPU and memory.")
    services.request_comment(in_comment, actor=world.requester, body="Grafana keeps timing out for us.")
    in_description = file_request(world, title="Dashboards", description="Grafana panels for the payments team.")
    in_title = file_request(world, title="Grafana for payments", description="Panels and alerts.")
    assert found(world.pm, "grafana") == [in_title.reference, in_description.reference, in_comment.reference]


def test_best_first_ranks_only_the_newest_matches_and_a_column_sort_lists_every_match(world, settings):
    settings.PORTICO_SEARCH_RANK_WINDOW = 2
    oldest = file_request(world, title="Heron cluster", description="Heron heron.")
    weak = file_request(world, title="Dashboards", description="Panels for the heron team.")
    strong = file_request(world, title="Heron namespace", description="Heron.")
    assert found(world.pm, "heron") == [strong.reference, weak.reference]  # the best of the newest two
    every = ServiceRequest.objects.visible_to(world.pm).search_text("heron", user=world.pm, ranked=False)
    assert set(every.values_list("reference", flat=True)) == {oldest.reference, weak.reference, strong.reference}


def test_the_ranked_window_holds_only_requests_the_user_sees(world, settings):
    """Newer matches out of a vendor engineer's sight never take the window's places: they are left out first."""
    settings.PORTICO_SEARCH_RANK_WINDOW = 1
    theirs = walk_to(world, RequestState.QUEUED, title="Heron backup")
    newer = file_request(world, title="Heron restore")  # not triaged: no vendor's yet
    assert found(world.vendor_engineer, "heron") == [theirs.reference]
    assert found(world.other_vendor_engineer, "heron") == []
    assert found(world.pm, "heron") == [newer.reference]


def test_the_substring_fallback_lists_newest_first_when_ranked(world):
    older = file_request(world, title="Heron one")
    newer = file_request(world, title="Heron two")
    matches = ServiceRequest.objects.visible_to(world.pm)._search_substring("heron", world.pm)
    newest_first = matches.search_best_first("heron", user=world.pm).values_list("reference", flat=True)
    assert list(newest_first) == [newer.reference, older.reference]


def test_websearch_syntax_phrases_exclusion_and_or(world):
    kafka = file_request(world, title="Kafka topic for billing", description="Three partitions.")
    redis = file_request(world, title="Redis cache for billing", description="One replica.")
    topic_words = file_request(world, title="Billing topic review", description="Kafka later, maybe.")
    assert set(found(world.pm, "billing")) == {kafka.reference, redis.reference, topic_words.reference}
    assert found(world.pm, '"kafka topic"') == [kafka.reference]  # a phrase: the words next to each other
    assert set(found(world.pm, "billing -kafka")) == {redis.reference}
    assert set(found(world.pm, "redis or partitions")) == {kafka.reference, redis.reference}
    everything = list(ServiceRequest.objects.values_list("reference", flat=True))
    assert found(world.pm, "") == found(world.pm, "   ") == everything


def test_reference_and_jira_key_are_found(world):
    service_request = file_request(world, title="Anything")
    ServiceRequest.objects.filter(pk=service_request.pk).update(jira_key="PLAT-4242")  # as the Jira mirror writes
    assert found(world.pm, service_request.reference) == [service_request.reference]
    assert found(world.pm, service_request.reference.lower()) == [service_request.reference]
    assert found(world.pm, str(service_request.pk)) == [service_request.reference]
    assert found(world.pm, "PLAT-4242") == [service_request.reference]


def test_public_comments_are_found_by_everyone_who_sees_the_request(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    services.request_comment(service_request, actor=world.vendor_engineer, body="The ingress needs a wildcard cert.")
    for user in (world.requester, world.vendor_engineer, world.vendor_lead, world.pm, world.approver):
        assert found(user, "wildcard") == [service_request.reference], user.username


def test_internal_notes_are_found_only_by_those_who_may_read_them(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    services.request_comment(
        service_request, actor=world.vendor_engineer, body="Customer's vault token leaked", internal=True
    )
    for user in (world.vendor_engineer, world.vendor_lead, world.pm, world.approver):
        assert found(user, "vault token") == [service_request.reference], user.username
    for user in (world.requester, world.other_requester, world.other_vendor_engineer, world.other_vendor_lead):
        assert found(user, "vault token") == [], user.username


def test_another_vendor_never_finds_a_request_by_any_field(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS, title="Zebra title", description="Okapi description")
    ServiceRequest.objects.filter(pk=service_request.pk).update(jira_key="ZZZ-77")
    services.request_comment(service_request, actor=world.requester, body="Narwhal comment")
    services.request_comment(service_request, actor=world.pm, body="Quokka note", internal=True)
    words = [service_request.reference, "ZZZ-77", "zebra", "okapi", "narwhal", "quokka", str(service_request.pk)]
    for word in words:
        assert found(world.pm, word) == [service_request.reference], word
        assert found(world.other_vendor_engineer, word) == [], word
        assert found(world.other_vendor_lead, word) == [], word


def test_document_follows_edits_of_title_and_description(world):
    service_request = file_request(world, title="Old words", description="Nothing here.")
    services.request_update(
        service_request, actor=world.pm, changes={"title": "Fresh wording", "description": "Pelican."}, reason="typo"
    )
    assert found(world.pm, "pelican") == [service_request.reference]
    assert found(world.pm, "fresh") == [service_request.reference]
    assert found(world.pm, "old") == []


def test_snippets_mark_matches_and_escape_everything_else(world):
    service_request = file_request(
        world, title="XSS probe", description="<script>alert(1)</script> the <b>quota</b> is \x02gone\x03 & more"
    )
    services.request_comment(service_request, actor=world.requester, body='quota <img src=x onerror="alert(2)">')
    descriptions = {service_request.pk: service_request.description}
    snippet = search_snippets(descriptions, "quota", user=world.requester)[service_request.pk]
    assert "<mark>quota</mark>" in snippet
    without_marks = snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without_marks and ">" not in without_marks
    assert "\x02" not in snippet and "\x03" not in snippet
    assert snippet.count("<mark>") == snippet.count("</mark>")


def test_snippet_html_never_lets_user_markup_through():
    assert snippet_html('a \x02b<i>\x03 "c"') == "a <mark>b&lt;i&gt;</mark> &quot;c&quot;"
    assert snippet_html("\x02unbalanced <x>") == "unbalanced &lt;x&gt;"


def test_snippets_leave_out_internal_notes_the_viewer_may_not_read(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    services.request_comment(service_request, actor=world.pm, body="Secret pelican plan", internal=True)
    descriptions = {service_request.pk: service_request.description}
    assert "pelican" in search_snippets(descriptions, "pelican", user=world.pm)[service_request.pk]
    assert "pelican" not in search_snippets(descriptions, "pelican", user=world.requester)[service_request.pk]


def test_the_snippets_timeline_read_compiled_per_viewer_shape_reads_what_the_gate_gives_each_viewer(world):
    ours = walk_to(world, RequestState.IN_PROGRESS)
    services.request_comment(ours, actor=world.requester, body="Public heron comment")
    services.request_comment(ours, actor=world.vendor_engineer, body="Internal heron note", internal=True)
    theirs = file_request(world, actor=world.other_requester, team=world.team_b)
    services.TRANSITIONS["triage"].service(theirs, actor=world.pm, vendor=world.vendor_b)
    services.request_comment(theirs, actor=world.other_requester, body="Their heron comment")
    services.request_comment(theirs, actor=world.pm, body="Their internal heron note", internal=True)
    unrouted = file_request(world)
    services.request_comment(unrouted, actor=world.requester, body="Unrouted heron comment")
    descriptions = {request.pk: request.description for request in (ours, theirs, unrouted)}

    read = {}
    for name, user in world.users.items():
        plain: dict[int, list[str]] = {}
        for request_id, message in search._messages(user, list(descriptions)):
            plain.setdefault(request_id, []).append(message)
        expected = {pk: " … ".join([text, *plain.get(pk, [])]) for pk, text in descriptions.items()}
        read[name] = search._documents(descriptions, user, "default")  # compiled: one per shape, values bound
        assert read[name] == expected, name

    assert "Internal heron note" in read["vendor_lead"][ours.pk] and "Their internal" in read["pm"][theirs.pk]
    assert "Internal heron note" not in read["other_vendor_engineer"][ours.pk]
    assert (
        "Their internal" in read["other_vendor_lead"][theirs.pk]
        and "Their internal" not in read["requester"][theirs.pk]
    )


def test_the_compiled_search_steps_give_what_the_plain_ones_give_every_viewer(world, monkeypatch):
    world.requester.teams.add(world.team_b)  # two teams: two team markers bound
    world.vendor_engineer.teams.add(world.team_a)
    ours = walk_to(
        world, RequestState.IN_PROGRESS, team=world.team_a, title="Heron cluster", description="Read replica for heron."
    )
    services.request_comment(ours, actor=world.vendor_engineer, body="Heron rollback, no helm", internal=True)
    theirs = file_request(world, actor=world.other_requester, team=world.team_b, description="Heron vpn or replica")
    services.TRANSITIONS["triage"].service(theirs, actor=world.pm, vendor=world.vendor_b)
    services.request_comment(theirs, actor=world.pm, body="Heron replica note", internal=True)
    file_request(world, team=world.team_a, title="Heron namespace", description="A read replica, heron and rollback.")
    texts = ("heron", '"read replica"', "heron -helm", "vpn or replica", "rollback")

    def window(user, text, best_first):
        listed = ServiceRequest.objects.visible_to(user).search_text(text, user=user, ranked=False)
        return listed._search_window(text, user=user, window=25, best_first=best_first)

    compiled_windows = {}
    for name, user in world.users.items():
        user = type(user).objects.get(pk=user.pk)  # teams read afresh
        for text in texts:
            plain = ServiceRequest.objects.visible_to(user).search_text(text, user=user, ranked=False)
            assert search_compiled.search_for(user, text).plain_where("default") == plain._where_sql(), (name, text)
            for best_first in (True, False):
                compiled_windows[name, text, best_first] = window(user, text, best_first)
    monkeypatch.setattr(search_compiled, "search_for", lambda user, text: None)  # the plain path alone
    for name, user in world.users.items():
        user = type(user).objects.get(pk=user.pk)
        for text in texts:
            for best_first in (True, False):
                assert window(user, text, best_first) == compiled_windows[name, text, best_first], (name, text)

    # The internal note says "helm": it excludes the request for those who may read the note, not for the requester.
    assert ours.pk not in compiled_windows["vendor_engineer", "heron -helm", True]
    assert ours.pk in compiled_windows["requester", "heron -helm", True]
    assert ours.pk not in compiled_windows["other_vendor_engineer", "heron", True]
    assert theirs.pk in compiled_windows["requester", "heron", False]  # through team b

    # The documents only find candidates; the request's own gate decides. Documents that claim what their requests
    # do not say: `ours` (team a) for team b's requester; a team a request routed to vendor b, its internal note's
    # word, for vendor a's engineer (in team a: they see the request, not its notes).
    monkeypatch.undo()
    routed = file_request(world, team=world.team_a, title="Plain title")
    services.TRANSITIONS["triage"].service(routed, actor=world.pm, vendor=world.vendor_b)
    services.request_comment(routed, actor=world.pm, body="Osprey secret", internal=True)
    RequestSearchDocument.objects.filter(service_request=ours).update(team_id=world.team_b.pk)
    RequestSearchDocument.objects.filter(service_request=routed).update(vendor_id=world.vendor_a.pk)
    for best_first in (True, False):
        assert ours.pk not in window(world.other_requester, "heron", best_first)
        assert window(type(world.vendor_engineer).objects.get(pk=world.vendor_engineer.pk), "osprey", best_first) == []
    assert window(world.pm, "osprey", True) == [routed.pk]


def test_the_list_page_searches_ranks_and_shows_snippets(client, world):
    weak = file_request(world, title="Namespace", description="Heron in the description.")
    strong = file_request(world, title="Heron cluster", description="Heron heron.")
    file_request(world, title="Unrelated", description="Nothing.")
    client.force_login(world.requester)
    response = client.get("/", {"search": "heron"})
    assert ROW.findall(response.content.decode()) == [strong.reference, weak.reference]
    assert '<span class="search-snippet">' in response.content.decode()
    assert "<mark>Heron</mark>" in response.content.decode()
    # A column sort chosen by the user wins over the rank (the desk's sortable columns); `q` (old links) searches too.
    by_reference = client.get("/", {"search": "heron", "sort": "reference"}).content.decode()
    assert ROW.findall(by_reference) == [weak.reference, strong.reference]
    assert ROW.findall(client.get("/", {"q": "heron"}).content.decode()) == [strong.reference, weak.reference]


def test_migration_backfills_documents_for_existing_requests(world):
    first = file_request(world, title="Flamingo before the migration")
    service_request = walk_to(world, RequestState.IN_PROGRESS, title="Second")
    services.request_comment(service_request, actor=world.pm, body="Cormorant internal", internal=True)
    migration = importlib.import_module("requests_app.migrations.0016_request_search_documents")
    with connection.cursor() as cursor:
        cursor.execute(migration.DROP)
    RequestSearchDocument.objects.all().delete()
    assert found(world.pm, "flamingo") == []
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deletions' deferred checks, before CREATE INDEX
    executor = MigrationExecutor(connection)
    migration.search_create(executor.loader.project_state().apps, connection.schema_editor())
    assert found(world.pm, "flamingo") == [first.reference]
    assert found(world.pm, "cormorant") == [service_request.reference]
    assert found(world.requester, "cormorant") == []
    assert RequestSearchDocument.objects.count() == ServiceRequest.objects.count()


def test_the_substring_fallback_covers_the_same_fields_and_rules(world):
    """What SQLite runs (`connection.vendor` is not postgresql there), exercised directly on the same data."""
    service_request = walk_to(world, RequestState.IN_PROGRESS, title="Heron", description="Egret in here")
    services.request_comment(service_request, actor=world.requester, body="Public ptarmigan")
    services.request_comment(service_request, actor=world.pm, body="Internal bittern", internal=True)

    def fallback(user, text):
        visible = ServiceRequest.objects.visible_to(user)
        return list(visible._search_substring(text, user).values_list("reference", flat=True))

    for word in ("heron", "EGRET", "ptarmigan", service_request.reference[-4:]):
        assert fallback(world.requester, word) == [service_request.reference], word
    assert fallback(world.pm, "bittern") == [service_request.reference]
    assert fallback(world.vendor_engineer, "bittern") == [service_request.reference]
    assert fallback(world.requester, "bittern") == []
    assert fallback(world.other_vendor_engineer, "heron") == []


def test_the_migrations_trigger_indexes_the_kinds_the_snippets_read():
    """The trigger's kind list is a copy (a migration cannot import the live choices): the two stay equal, and an
    attachment's file name, which Portico writes into the timeline, is not text a person wrote."""
    from requests_app.choices import SEARCHABLE_EVENT_KINDS, EventKind

    migration = importlib.import_module("requests_app.migrations.0016_request_search_documents")
    assert set(migration.KINDS) == {str(kind) for kind in SEARCHABLE_EVENT_KINDS}
    assert EventKind.ATTACHMENT_ADDED not in SEARCHABLE_EVENT_KINDS


def document_keys() -> dict[int, tuple[int | None, int | None, int | None]]:
    return {
        doc.service_request_id: (doc.vendor_id, doc.team_id, doc.requester_id)
        for doc in RequestSearchDocument.objects.all()
    }


def request_keys() -> dict[int, tuple[int | None, int | None, int | None]]:
    return {row.pk: (row.vendor_id, row.team_id, row.requester_id) for row in ServiceRequest.objects.all()}


def test_document_keys_follow_triage_reassignment_bulk_and_queryset_updates(world):
    """The vendor, team and requester the search index narrows by are the request's after every write path; who
    finds the request (and its internal notes) moves with them."""
    from desk.services import requests_bulk

    service_request = file_request(world, title="Heron migration")
    other = file_request(world, title="Egret migration")
    assert document_keys() == request_keys()
    assert document_keys()[service_request.pk] == (None, world.team_a.pk, world.requester.pk)

    services.request_triage(service_request, actor=world.pm, vendor=world.vendor_a)
    services.request_comment(service_request, actor=world.pm, body="Pelican credentials", internal=True)
    assert document_keys() == request_keys()
    assert found(world.vendor_engineer, "pelican") == [service_request.reference]
    assert found(world.other_vendor_engineer, "pelican") == found(world.other_vendor_engineer, "heron") == []

    services.request_reassign(service_request, actor=world.pm, vendor=world.vendor_b, reason="GWL runs it")
    assert document_keys()[service_request.pk][0] == world.vendor_b.pk
    assert document_keys() == request_keys()
    assert found(world.vendor_engineer, "pelican") == found(world.vendor_engineer, "heron") == []
    assert found(world.other_vendor_engineer, "pelican") == [service_request.reference]

    outcomes = requests_bulk(
        actor=world.pm,
        action="reassign",
        references=[service_request.reference],
        params={"vendor": world.vendor_a.slug, "reason": "Back to OptIT"},
    )
    assert [outcome.ok for outcome in outcomes] == [True]
    assert document_keys()[service_request.pk][0] == world.vendor_a.pk
    assert document_keys() == request_keys()
    assert found(world.vendor_engineer, "pelican") == [service_request.reference]
    assert found(world.other_vendor_engineer, "heron") == []

    outcomes = requests_bulk(
        actor=world.pm, action="triage", references=[other.reference], params={"vendor": world.vendor_b.slug}
    )
    assert [outcome.ok for outcome in outcomes] == [True]
    assert document_keys()[other.pk][0] == world.vendor_b.pk
    assert found(world.other_vendor_engineer, "egret") == [other.reference]

    # A write outside the services (an admin's or a data fix's queryset update) moves the keys too.
    ServiceRequest.objects.filter(pk=service_request.pk).update(team=world.team_b, requester=world.other_requester)
    assert document_keys() == request_keys()
    assert found(world.other_requester, "heron") == [service_request.reference]
    assert found(world.requester, "heron") == []


def test_a_stale_document_key_is_put_right_by_the_next_write_and_never_shows_more(world):
    """The keys only find candidates: a document whose key is wrong never shows a request `visible_to` hides,
    and the next write to the request puts the key right."""
    service_request = walk_to(world, RequestState.IN_PROGRESS, title="Heron rollout")
    services.request_comment(service_request, actor=world.pm, body="Cormorant secret", internal=True)
    with connection.cursor() as cursor:  # as if a key had gone wrong: the other vendor's, the other team's
        cursor.execute(
            "UPDATE requests_app_requestsearchdocument SET vendor_id = %s, team_id = %s, requester_id = %s "
            "WHERE service_request_id = %s",
            [world.vendor_b.pk, world.team_b.pk, world.other_requester.pk, service_request.pk],
        )
    for user in (world.other_vendor_engineer, world.other_vendor_lead, world.other_requester):
        assert found(user, "heron") == found(user, "cormorant") == [], user.username
    ServiceRequest.objects.filter(pk=service_request.pk).update(priority="P1")  # no text, no key changes
    assert document_keys() == request_keys()
    assert found(world.vendor_engineer, "cormorant") == [service_request.reference]
    assert found(world.requester, "heron") == [service_request.reference]


def test_a_list_filter_that_leaves_out_the_newest_matches_still_ranks_a_full_window(world, settings):
    """The window's candidates come off the documents alone; where the list's other filters leave them out, the
    window is found among every match instead, so it is never emptier than the filtered list."""
    settings.PORTICO_SEARCH_RANK_WINDOW = 1
    queued = walk_to(world, RequestState.QUEUED, title="Heron backup")
    file_request(world, title="Heron restore")  # newer, and not queued
    for user in (world.pm, world.vendor_engineer, world.requester):
        visible = ServiceRequest.objects.visible_to(user).filter(state=RequestState.QUEUED)
        found_queued = visible.search_text("heron", user=user).values_list("reference", flat=True)
        assert list(found_queued) == [queued.reference], user.username


def test_migration_0024_backfills_the_keys_of_existing_documents(world):
    service_request = walk_to(world, RequestState.IN_PROGRESS, title="Flamingo rollout")
    file_request(world, title="Flamingo elsewhere")
    migration = importlib.import_module("requests_app.migrations.0024_search_document_visibility_keys")
    with connection.cursor() as cursor:  # documents as 0016 left them: no keys, no indexes on them
        cursor.execute(
            "UPDATE requests_app_requestsearchdocument SET vendor_id = NULL, team_id = NULL, requester_id = NULL"
        )
        for index in ("team_newest", "vendor_newest", "requester_newest"):
            cursor.execute(f"DROP INDEX requestsearch_{index}")
    assert found(world.vendor_engineer, "flamingo") == []
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the writes' deferred checks, before CREATE INDEX
    migration.keys_create(None, connection.schema_editor())
    assert document_keys() == request_keys()
    assert found(world.vendor_engineer, "flamingo") == [service_request.reference]
    assert len(found(world.requester, "flamingo")) == 2


PHRASES_AND_WORDS = ('"read replica"', "502 ingress", '"node pool"', "crash-looping", "postgresql instance")
RANDOM_WORDS = ("read", "replica", "node", "pool", "502", "ingress", "crash", "looping", "postgresql", "instance")


def random_requests(world, seed: int, count: int) -> None:
    """`count` requests of both teams, half triaged to one of two vendors, titled, described and noted (public and
    internal) with random runs of the phrases' words, so each phrase matches some and its words alone many more."""
    chance = random.Random(seed)

    def words(length: int) -> str:
        return " ".join(chance.choice(RANDOM_WORDS) for _ in range(length))

    for _ in range(count):
        actor = chance.choice((world.requester, world.other_requester))
        service_request = file_request(world, actor=actor, title=words(3), description=words(6))
        vendor = chance.choice((None, world.vendor_a, world.vendor_b))
        if vendor is not None:
            service_request = services.request_triage(service_request, actor=world.pm, vendor=vendor)
        if chance.random() < 0.5:
            services.request_comment(service_request, actor=world.pm, body=words(4), internal=chance.random() < 0.6)


def test_phrases_and_several_words_find_the_same_newest_window_as_the_plain_query(world):
    """The window read span by span of document ids holds the newest `window` matches, exactly as the plain query
    over every match finds them, for each kind of user, in a list filtered by state too, for a small window (narrow
    spans: many of them are read) and a large one."""
    random_requests(world, seed=11, count=80)
    lists = [(user, ServiceRequest.objects.visible_to(user)) for user in (world.pm, world.requester)]
    for user in (world.vendor_engineer, world.other_vendor_lead):
        visible = ServiceRequest.objects.visible_to(user)
        lists += [(user, visible), (user, visible.filter(state=RequestState.QUEUED))]
    for user, visible in lists:
        for text in (*PHRASES_AND_WORDS, "replica -pool", "node or crash"):
            every = visible.search_text(text, user=user, ranked=False)
            for window in (2, 25):
                plain = list(every.order_by("-pk").values_list("pk", flat=True)[:window])
                assert every._search_window(text, user=user, window=window) == plain, (user.username, text, window)
                ranked = every.search_best_first(text, user=user, window=window).values_list("pk", flat=True)
                assert sorted(ranked) == sorted(plain), (user.username, text, window)


def test_a_ranked_window_knows_its_count_as_the_database_counts_it(world):
    """`known_count()` (the lists' and the API's count of a ranked search) is the database's COUNT of the same
    queryset, in another order and sliced as the lists' paginator slices it, for each kind of user; once a condition
    is added it knows nothing. (A slice in the ranked order is a page that reads its own ids: `_ranked_slice`.)"""
    random_requests(world, seed=23, count=40)
    chance = random.Random(23)
    for user in (world.pm, world.requester, world.vendor_engineer, world.other_vendor_lead):
        visible = ServiceRequest.objects.visible_to(user)
        for text in (*PHRASES_AND_WORDS, "replica -pool", "node or crash"):
            for window in (3, 25):
                every = visible.search_text(text, user=user, ranked=False)  # as the lists' filter set has it
                ranked = every.search_best_first(text, user=user, window=window)
                low = chance.randrange(0, 5)
                high = low + chance.randrange(1, 30)
                for queryset in (ranked, ranked.order_by(), ranked.order_by()[low:high], ranked.order_by("-pk")[low:]):
                    counted = QuerySet.count(queryset.values("pk"))  # in SQL: `values` hides nothing it counts
                    assert queryset.known_count() == counted, (user.username, text, window)
                assert ranked.filter(state=RequestState.QUEUED).known_count() is None
                assert ranked.none().known_count() is None
    assert visible.known_count() is None  # not a ranked search at all


def test_a_match_on_the_edge_of_two_spans_is_read_once(world, settings):
    """With a window of 1 the first span is the newest 20 ids: the 20th newest is its last, and the next span
    starts below it."""
    settings.PORTICO_SEARCH_RANK_WINDOW = 1
    file_request(world, title="Node pool for the old cluster")
    edge = file_request(world, title="Node pool for payments")
    for number in range(19):
        file_request(world, title=f"Quota {number}")
    assert edge.pk == RequestSearchDocument.objects.order_by("-pk").values_list("pk", flat=True)[19]
    for user in (world.pm, world.requester):
        assert found(user, '"node pool"') == [edge.reference], user.username


def test_own_requests_in_one_query_and_the_ranking_check_find_the_same_window_in_the_same_order(world):
    """A vendor's person without a team reads the matches among their own requests (not their vendor's) in one query,
    and the query that checks the candidates ranks them too (or, for the program manager, the ranking is the check):
    the same rows, in the same order, as the plain query's newest matches ranked on their documents."""
    random_requests(world, seed=12, count=60)
    not_theirs = ServiceRequest.objects.exclude(vendor=world.vendor_a).order_by("pk").values_list("pk", flat=True)
    ServiceRequest.objects.filter(pk__in=list(not_theirs)[::3]).update(requester=world.vendor_engineer)
    assert not world.vendor_engineer.teams.exists()
    for user in (world.vendor_engineer, world.pm, world.requester, world.other_vendor_lead):
        visible = ServiceRequest.objects.visible_to(user)
        for text in (*PHRASES_AND_WORDS, "replica -pool", "node or crash"):
            every = visible.search_text(text, user=user, ranked=False)
            for window in (2, 25):
                newest = list(every.order_by("-pk").values_list("pk", flat=True)[:window])
                with CaptureQueriesContext(connection) as captured:
                    ranked = list(every.search_best_first(text, user=user, window=window).values_list("pk", flat=True))
                assert ranked == every._ranked(newest, text, user), (user.username, text, window)
                own = [q["sql"] for q in captured if '"requests_app_requestsearchdocument"."requester_id"' in q["sql"]]
                if user == world.vendor_engineer:
                    assert len(own) == 1, own


RARE_AND_PAIRED = ("nda -sign", "sign -nda", "heron egret", "egret -heron", '"heron egret"', "nda or egret")


def paired_words(world, seed: int) -> list[str]:
    """Add to the requests' descriptions words always written together: "heron egret" in a fifth of them, "NDA sign"
    in three; a Jira key on two. The texts of a reference (as written, lower case, a bare number) of six requests,
    some of them out of each user's sight, and a Jira key, to search for."""
    chance = random.Random(seed)
    pks = list(ServiceRequest.objects.order_by("pk").values_list("pk", flat=True))
    for words, chosen in (("heron egret", chance.sample(pks, len(pks) // 5)), ("NDA sign", chance.sample(pks, 3))):
        described = Concat(F("description"), Value(f" {words}"))
        ServiceRequest.objects.filter(pk__in=chosen).update(description=described)  # the trigger keeps the documents
    keyed = chance.sample(pks, 2)
    ServiceRequest.objects.filter(pk__in=keyed).update(jira_key=Concat(Value("PLAT-"), Cast("pk", CharField())))
    references = ServiceRequest.objects.filter(pk__in=chance.sample(pks, 6)).values_list("reference", flat=True)
    texts = []
    for number, reference in enumerate(references):
        texts.append((reference, reference.lower(), reference.split("-")[1].lstrip("0"))[number % 3])
    return [*texts, f"PLAT-{keyed[0]}"]


@pytest.mark.parametrize("first_span", [1, 20])
def test_rare_words_exclusions_references_and_paired_words_find_the_same_newest_window_as_the_plain_query(
    world, monkeypatch, first_span
):
    """A rare word with an exclusion, words always written together (dense below the spans: walked down the
    btree), a reference and a Jira key (read through the GIN index alone) find the newest `window` matches, exactly
    as the plain query over every match, for each kind of user, filtered by state too. With spans of one id per
    place of the window, most searches read below the spans."""
    monkeypatch.setattr(querysets, "SEARCH_FIRST_SPAN", first_span)
    random_requests(world, seed=13, count=80)
    texts = (*RARE_AND_PAIRED, *PHRASES_AND_WORDS, *paired_words(world, seed=13))
    lists = [(user, ServiceRequest.objects.visible_to(user)) for user in (world.pm, world.requester)]
    for user in (world.vendor_engineer, world.other_vendor_lead):
        visible = ServiceRequest.objects.visible_to(user)
        lists += [(user, visible), (user, visible.filter(state=RequestState.QUEUED))]
    for user, visible in lists:
        for text in texts:
            every = visible.search_text(text, user=user, ranked=False)
            for window in (1, 2, 5, 8, 25):
                plain = list(every.order_by("-pk").values_list("pk", flat=True)[:window])
                assert every._search_window(text, user=user, window=window) == plain, (user.username, text, window)
                ranked = list(every.search_best_first(text, user=user, window=window).values_list("pk", flat=True))
                assert sorted(ranked) == sorted(plain), (user.username, text, window)
                if visible.query.where == ServiceRequest.objects.visible_to(user).query.where:  # no state filter
                    assert ranked == every._ranked(plain, text, user), (user.username, text, window)


def document_reads(captured) -> list[str]:
    """The reads of the search documents by id, in order: "walked" (down a btree, the GIN index left aside), "gin"
    (through the GIN index, the words hidden from the estimate) or "indexed" (the planner's choice)."""
    reads = []
    for query in captured:
        sql = query["sql"]
        if 'FROM "requests_app_requestsearchdocument"' not in sql or "MAX(" in sql or "ts_rank" in sql:
            continue
        reads.append(
            "walked" if "COALESCE" in sql else "gin" if "+ 0" in sql and "(SELECT websearch" in sql else "indexed"
        )
    return reads


def test_a_rare_word_with_an_exclusion_reads_below_the_spans_through_the_gin_index_alone(world, monkeypatch, settings):
    """No match in the spans says nothing of how far down the next one is: every older match is read through the GIN
    index (which evaluates the exclusion itself), not walked down the ids, however common the planner thinks the
    match is."""
    monkeypatch.setattr(querysets, "SEARCH_FIRST_SPAN", 1)
    settings.PORTICO_SEARCH_RANK_WINDOW = 1  # the spans' 5 ids (1 and 4 for a phrase)
    signed = file_request(world, title="NDA for the vendor", description="Please sign it.")
    for number in range(8):
        file_request(world, title=f"Sign off {number}", description="Sign here.")
    with CaptureQueriesContext(connection) as captured:
        assert found(world.pm, "nda -sign") == []
    assert document_reads(captured) == ["indexed", "gin"]  # the spans' ids in one read, then the rest
    assert found(world.pm, "nda -please") == []
    assert found(world.pm, "nda -vendor") == []
    assert found(world.pm, "nda -off") == [signed.reference]


def document_page(service_request) -> int:
    """The heap page the request's search document lies on."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (ctid::text::point)[0]::int FROM requests_app_requestsearchdocument WHERE service_request_id = %s",
            [service_request.pk],
        )
        return cursor.fetchone()[0]


def test_what_people_write_keeps_a_search_document_on_its_page_so_the_newest_stay_in_id_order(world):
    """Each comment rewrites its request's search document; the table keeps room on each page (migration 0025) for
    the new version to go on the same page, so a walk down the newest ids visits one page after the other. On full
    pages the new version went wherever there was room, and a walk visited a page for every document (bench/
    RESULTS.md, session 21)."""
    with connection.cursor() as cursor:
        # The documents written from an empty table, one page filled after the other: in a database earlier tests
        # have written to, a new document lands wherever the free space map finds room.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses while deferred checks are pending
        cursor.execute("TRUNCATE requests_app_requestsearchdocument")
    filed = [file_request(world, title=f"Quota {n}", description="CPU and memory, please.") for n in range(60)]
    first = filed[0]
    page = document_page(first)
    assert page == document_page(filed[1]) and page != document_page(filed[-1])  # its page holds others, then filled
    for n in range(3):
        services.request_comment(first, actor=world.requester, body=f"Grafana keeps timing out for us ({n}).")
    assert found(world.pm, "grafana") == [first.reference]  # the new version is the one read
    assert document_page(first) == page


def heron_requests(world, *, newest: int, heron_at: tuple[int, ...], below: int, heron_below: int) -> list[str]:
    """Filed oldest first: `below` requests with "Heron egret" in the title only at position `heron_below` from the
    top (0 is the newest of them), then `newest` more with it at positions `heron_at` from the top. The references
    of the matches, newest first."""
    titles = ["Heron egret" if n in heron_at else "Quota" for n in range(newest)]
    titles += ["Heron egret" if n == heron_below else "Quota" for n in range(below)]
    filed = [file_request(world, title=f"{title} {n}") for n, title in reversed(list(enumerate(titles)))]
    return [r.reference for r in reversed(filed) if r.title.startswith("Heron")]


def test_words_always_written_together_are_walked_below_the_spans_when_the_spans_found_them_dense(
    world, monkeypatch, settings
):
    """Found often enough in the spans, the missing matches are walked down the btree for twice the ids that
    density puts them within: a match on the walk's last id is found by it, the GIN index is not read."""
    monkeypatch.setattr(querysets, "SEARCH_FIRST_SPAN", 1)
    settings.PORTICO_SEARCH_RANK_WINDOW = 4  # the spans' 20 ids (4 and 16 for a phrase)
    # 3 in the newest 20 ids, 17 counted from the newest of them: the fourth within 17 // 3 + 1 = 6 ids, walked for
    # 12 (the last is the match), where the GIN index would fetch ~10 (60 * 3 // 17) older matches.
    matches = heron_requests(world, newest=20, heron_at=(3, 9, 15), below=60, heron_below=11)
    with CaptureQueriesContext(connection) as captured:
        assert sorted(found(world.pm, "heron egret")) == sorted(matches)
    assert document_reads(captured) == ["indexed", "walked"]


def test_what_the_walk_below_the_spans_leaves_missing_is_read_through_the_gin_index(world, monkeypatch, settings):
    """The walk below the spans goes twice the ids the spans' density asked for, and on only while all it walked
    stays within the longest span; the match right below it is read through the GIN index."""
    monkeypatch.setattr(querysets, "SEARCH_FIRST_SPAN", 1)
    settings.PORTICO_SEARCH_RANK_WINDOW = 6  # the spans' 30 ids (6 and 24 for a phrase)
    # 5 in the newest 30 ids: the sixth within 30 // 5 + 1 = 7 ids, walked for 14 (28 more would pass the 24 ids
    # that all walks below the spans may take); the match is the 15th.
    matches = heron_requests(world, newest=30, heron_at=(0, 7, 8, 20, 29), below=60, heron_below=14)
    with CaptureQueriesContext(connection) as captured:
        assert sorted(found(world.pm, "heron egret")) == sorted(matches)
    assert document_reads(captured) == ["indexed", "walked", "gin"]


def test_a_walk_below_the_spans_that_falls_short_walks_twice_as_far_before_the_gin_index_is_read(
    world, monkeypatch, settings
):
    """A walk below the spans that finds nothing goes on for twice as many ids, while all it walked stays within
    the longest span: one match short, `"node pool"` for a vendor engineer on 1,000,000 requests read all 26,103
    older matches of its words through the GIN index (64 ms) where the next few hundred ids held it."""
    monkeypatch.setattr(querysets, "SEARCH_FIRST_SPAN", 1)
    settings.PORTICO_SEARCH_RANK_WINDOW = 10  # the spans' 50 ids (10 and 40 for a phrase)
    # 9 in the newest 50 ids: one missing, within 1 * 50 // 9 + 1 = 6 ids at that density, walked for 12 (nothing),
    # then for 24 more (the match is the 21st).
    matches = heron_requests(world, newest=50, heron_at=(0, 5, 12, 18, 24, 30, 36, 42, 48), below=60, heron_below=20)
    with CaptureQueriesContext(connection) as captured:
        assert sorted(found(world.pm, "heron egret")) == sorted(matches)
    assert document_reads(captured) == ["indexed", "walked", "walked"]
    assert_windows_are_the_plain_querys(world, "heron egret", window=10)


def test_below_the_spans_the_density_counts_from_the_newest_match_they_found(world, monkeypatch, settings):
    """Newer requests that hold no match (a vendor's newest, on other matters) say nothing of how far down the
    missing matches are: the density that decides the walk below the spans counts from the newest match found. On
    1,000,000 requests `postgresql instance` for a vendor engineer whose newest 10,000 ids held none was sent to the
    GIN read of all 25,961 matches of its words (54 ms) where a walk of 39,000 ids found them."""
    monkeypatch.setattr(querysets, "SEARCH_FIRST_SPAN", 1)
    settings.PORTICO_SEARCH_RANK_WINDOW = 20  # the spans' 100 ids (20 and 80 for a phrase)
    # None in the newest 20 ids, 14 in the next 80 (the first of them the newest id there): 6 missing, within
    # 6 * 80 // 14 + 1 = 35 ids at that density, walked for 70 (at most 80); counted from the top, 6 * 100 // 14 + 1
    # = 43 ids, 86 to walk: more than the longest span, so the GIN index was read.
    spans = (20, 25, 31, 37, 43, 49, 55, 61, 67, 73, 79, 85, 91, 97)
    matches = heron_requests(
        world, newest=200, heron_at=(*spans, 104, 114, 124, 134, 144, 154), below=0, heron_below=-1
    )
    with CaptureQueriesContext(connection) as captured:
        assert sorted(found(world.pm, "heron egret")) == sorted(matches)
    assert document_reads(captured) == ["indexed", "walked"]
    assert_windows_are_the_plain_querys(world, "heron egret", window=20)


@pytest.mark.parametrize(
    ("text", "reads", "hidden"),
    [
        ("heron", ["indexed"], [False]),
        ("Egret heron", ["indexed"], [False]),
        ("heron -quota", ["indexed"], [False]),
        ('"heron egret"', ["walked", "indexed"], [False, True]),
    ],
)
def test_words_are_read_in_one_span_shown_to_the_planner_and_a_phrase_in_two(
    world, monkeypatch, settings, text, reads, hidden
):
    """Words without a phrase (one, several, an exclusion) are read in one span of the newest
    `window * SEARCH_FIRST_SPAN * 5` ids, shown to the planner: in two spans, where the first did not fill the window
    the GIN bitmap of every match in the table was built twice (`rollback -helm` for a vendor engineer on 1,000,000
    requests: 52,435 entries, ~9 and ~12 ms). A phrase walks its first fifth, then reads the rest through the GIN
    index and the ids' btree together, its words hidden from the planner's estimate."""
    monkeypatch.setattr(querysets, "SEARCH_FIRST_SPAN", 1)
    settings.PORTICO_SEARCH_RANK_WINDOW = 4  # the spans' 20 ids (4 and 16 for a phrase)
    # None in the newest 4 ids, so a phrase's second span is read whatever the density.
    matches = heron_requests(world, newest=20, heron_at=(6, 8, 10, 12), below=0, heron_below=-1)
    with CaptureQueriesContext(connection) as captured:
        assert sorted(found(world.pm, text)) == sorted(matches)
    assert document_reads(captured) == reads
    spans = [
        query["sql"]
        for query in captured
        if 'FROM "requests_app_requestsearchdocument"' in query["sql"]
        and "MAX(" not in query["sql"]
        and "ts_rank" not in query["sql"]
    ]
    assert [("(SELECT websearch_to_tsquery" in sql) for sql in spans] == hidden
    assert_windows_are_the_plain_querys(world, text, window=4)


def test_a_page_of_the_ranked_window_is_the_same_slice_of_its_rows_and_reads_only_them(world):
    """A slice of `search_best_first`'s result reads only the slice's ids (no window of up to 500 rows joined and
    sorted to keep 25); its rows, their places and their related rows are the same slice of the whole ranked list,
    for random bounds, each kind of user, a list filtered by state, plain rows (the API's) and model instances. A
    condition or an order added after the ranking takes Django's own slice, with the same answer as slicing the
    whole list in Python."""
    from portal.api.rows import plain_rows

    random_requests(world, seed=14, count=80)
    chance = random.Random(14)
    lists = [(user, ServiceRequest.objects.visible_to(user)) for user in (world.pm, world.requester)]
    for user in (world.vendor_engineer, world.other_vendor_lead):
        visible = ServiceRequest.objects.visible_to(user)
        lists += [(user, visible), (user, visible.filter(state=RequestState.QUEUED))]
    later = (
        lambda ranked: ranked.filter(priority="P1"),
        lambda ranked: ranked.exclude(state=RequestState.QUEUED),
        lambda ranked: ranked.order_by("-search_position"),
        lambda ranked: ranked.order_by("search_position", "-pk").distinct(),
    )
    sliced = 0
    for user, visible in lists:
        for text in (*PHRASES_AND_WORDS, "replica -pool", "node or crash"):
            for window in (1, 5, 25):
                every = visible.with_related().search_text(text, user=user, ranked=False)
                ranked = every.search_best_first(text, user=user, window=window)
                rows = [(row.pk, row.search_position, row.vendor_id and row.vendor.name) for row in ranked.all()]
                assert [pk for pk, _, _ in rows] == list(ranked.values_list("pk", flat=True))
                for _ in range(4):
                    start = chance.randrange(0, window + 3)
                    stop = chance.choice([None, start + chance.randrange(0, window + 3)])
                    with CaptureQueriesContext(connection) as captured:
                        page = [
                            (row.pk, row.search_position, row.vendor_id and row.vendor.name)
                            for row in ranked[start:stop]
                        ]
                    assert page == rows[start:stop], (user.username, text, window, start, stop)
                    plain = [(row.pk, row.search_position) for row in plain_rows(ranked)[start:stop]]
                    assert plain == [(pk, place) for pk, place, _ in rows[start:stop]], (user.username, text, start)
                    if captured:
                        sql = captured[-1]["sql"]
                        assert "LIMIT" not in sql and "OFFSET" not in sql, sql
                        sliced += 1
                    for change in later:
                        changed = change(ranked)
                        whole = [row.pk for row in change(ranked)]
                        assert [row.pk for row in changed[start:stop]] == whole[start:stop], (text, start, stop)
    assert sliced > 100


def assert_windows_are_the_plain_querys(world, text: str, *, window: int) -> None:
    """For a vendor engineer and a requester, the window of `text` is the newest `window` of the plain query."""
    for user in (world.vendor_engineer, world.requester):
        every = ServiceRequest.objects.visible_to(user).search_text(text, user=user, ranked=False)
        plain = list(every.order_by("-pk").values_list("pk", flat=True)[:window])
        assert every._search_window(text, user=user, window=window) == plain, user.username


@pytest.mark.parametrize(("fourth", "reads"), [(7, ["walked", "walked"]), (8, ["walked", "walked", "indexed"])])
def test_the_first_spans_density_walks_the_second_span_as_far_as_it_puts_the_missing_matches(
    world, monkeypatch, settings, fourth, reads
):
    """Where a phrase's first span found matches dense enough, the missing ones are walked down the btree for twice the
    ids its density puts them within, as many ids as it read at most (further only where the walk costs less than
    the GIN bitmap: the next test); a match on the walk's last id is found by it, one right below by the rest of
    the second span, read through the GIN index and the btree together."""
    monkeypatch.setattr(querysets, "SEARCH_FIRST_SPAN", 1)
    settings.PORTICO_SEARCH_RANK_WINDOW = 4  # spans of 4 and 16 ids
    # 3 in the newest 4 ids: the fourth within 1 * 4 // 3 + 1 = 2 ids, walked for 4 (the 8th id from the top, 7).
    matches = heron_requests(world, newest=20, heron_at=(0, 1, 2, fourth), below=0, heron_below=-1)
    with CaptureQueriesContext(connection) as captured:
        assert sorted(found(world.pm, '"heron egret"')) == sorted(matches)
    assert document_reads(captured) == reads
    assert_windows_are_the_plain_querys(world, '"heron egret"', window=4)


@pytest.mark.parametrize(
    ("heron_at", "reads"), [((0, 1, 5, 8), ["walked", "walked"]), ((0, 5, 8, 12), ["walked", "indexed"])]
)
def test_past_the_first_spans_size_a_phrases_second_span_is_walked_as_far_as_its_density_puts_the_missing_matches(
    world, monkeypatch, settings, heron_at, reads
):
    """Where a phrase's first span's density puts the missing matches further down than it read, they are walked for
    twice that distance if that fits in the second span, however few matches that density makes in the whole table:
    a phrase's GIN bitmap holds every document with all its words (`"cluster access"` for a vendor engineer on
    1,000,000 requests: 83,201 documents, 31 ms, where the walk takes ~12). Further, the second span is read
    through the GIN index and the btree together."""
    monkeypatch.setattr(querysets, "SEARCH_FIRST_SPAN", 1)
    settings.PORTICO_SEARCH_RANK_WINDOW = 4  # spans of 4 and 16 ids
    # 2 in the newest 4 ids: the other two within 2 * 4 // 2 + 1 = 5 ids, walked for 10 (more than the 4 read, and
    # ~10 matches in the table at that density). 1 in the newest 4: the other three within 3 * 4 // 1 + 1 = 13 ids,
    # 26 to walk, more than the second span's 16.
    matches = heron_requests(world, newest=20, heron_at=heron_at, below=0, heron_below=-1)
    with CaptureQueriesContext(connection) as captured:
        assert sorted(found(world.pm, '"heron egret"')) == sorted(matches)
    assert document_reads(captured) == reads
    assert_windows_are_the_plain_querys(world, '"heron egret"', window=4)
