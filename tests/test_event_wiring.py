"""The event registry's wiring, printed so it stays visible, and its rules: frozen after start-up, in order."""

from __future__ import annotations

import pytest

from portal.events import EventRegistry, RegistryFrozen, registry

# What reacts to which timeline event. A change here is a change in behaviour: update this list on purpose.
EXPECTED_WIRING = [
    "jira: mirror to the environment's project: approve, auto_close, cancel, comment, confirm, deny, escalate, "
    "link_added, link_removed, pick_up, priority_changed, provide_info, reassign, reject, reopen, request_info, "
    "resolve, triage, unblock",
    "provisioning: start approved automation: approve",
    "conversations: mentions make watchers: comment",
    "conversations: notify people (in-portal now, e-mail and own chat after commit): access_granted, "
    "access_revoke_failed, access_revoked, approve, auto_close, cancel, comment, confirm, deny, escalate, filed, "
    "jira_comment, jira_conflict, jira_sync_failed, pick_up, priority_changed, provide_info, provisioning_failed, "
    "provisioning_succeeded, reassign, reject, reopen, request_info, resolve, sla_at_risk, sla_breached, triage, "
    "unblock, updated",
    "conversations: post to chat channels: escalate, filed, sla_breached, triage",
    "incidents: page the on call of urgent production issues: approve, filed, priority_changed, reassign, triage, "
    "updated",
    "incidents: link production issues filed during hypercare: filed",
    "incidents: open the post-incident review of a resolved P0/P1: resolve",
    "reports: restale the stored weeks a changed request counts in: access_granted, access_revoke_failed, "
    "access_revoked, approve, attachment_added, auto_close, break_glass, break_glass_reviewed, cancel, confirm, "
    "deny, escalate, filed, jira_conflict, jira_sync_failed, link_added, link_removed, page_acknowledged, "
    "page_escalated, paged, pick_up, priority_changed, provide_info, provisioning_cancelled, provisioning_failed, "
    "provisioning_resumed, provisioning_started, provisioning_succeeded, reassign, reject, reopen, request_info, "
    "resolve, sla_extended, sla_recomputed, triage, unblock, updated",
    "reports: keep the request's state spans: every event",
]


def test_the_wiring_is_what_the_apps_registered(capsys):
    wiring = registry.describe()
    print("\n".join(["Event handlers, in dispatch order:", *wiring]))  # noqa: T201  shown with `pytest -s`
    assert sorted(wiring) == sorted(EXPECTED_WIRING)
    assert "provisioning" in capsys.readouterr().out


def test_registering_after_events_flowed_is_refused():
    local = EventRegistry()
    local.add("first", lambda event: None, kinds=["filed"])
    local.handlers_for("filed")
    with pytest.raises(RegistryFrozen):
        local.add("late", lambda event: None)


def test_handlers_run_in_registration_order_and_only_for_their_kinds():
    local = EventRegistry()
    heard: list[str] = []

    class Event:
        kind = "approve"

    local.add("a", lambda event: heard.append("a"), kinds=["approve"])
    local.add("b", lambda event: heard.append("b"))
    local.add("c", lambda event: heard.append("c"), kinds=["filed"])
    local.dispatch(Event())
    assert heard == ["a", "b"]
