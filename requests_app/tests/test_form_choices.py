"""The action forms' vendor and assignee lists, read once per page through compiled queries
(`requests_app.form_choices`), offer what the querysets the forms built before offered, and a submitted value is
still checked against the queryset (built only then)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import User
from requests_app import services
from requests_app.choices import OnboardingStatus, RequestState
from requests_app.form_choices import Assignees, FormChoices
from requests_app.forms import TransitionForm
from requests_app.routing import live_vendors
from requests_app.testing.workflow import file_request, walk_to
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db


def _engineers_as_the_form_built_them(service_request, user):
    """The assignee field's queryset as `forms._extra_field` built it per form (before `Assignees`)."""
    if user.has_perm("requests_app.triage_request"):
        engineers = User.objects.filter(vendor__in=live_vendors(service_request.environment_id), is_active=True)
    elif service_request.vendor_id is None:
        engineers = User.objects.none()
    else:
        engineers = User.objects.filter(vendor_id=service_request.vendor_id, is_active=True)
    if service_request.assignee_id:
        engineers = engineers.exclude(pk=service_request.assignee_id)
    return list(engineers.select_related("vendor").order_by("vendor__name", "username"))


@pytest.fixture
def crowded(world):
    """Engineers who must not be offered (inactive, of a vendor not live here) beside ones who must."""
    f.VendorEngineerFactory(username="opti-gone", vendor=world.vendor_a, is_active=False)
    f.VendorEngineerFactory(username="aaa-opti", vendor=world.vendor_a)
    elsewhere = f.VendorFactory(slug="elsewhere", name="Elsewhere")
    f.VendorEngineerFactory(username="else-eng", vendor=elsewhere)
    pending = f.VendorFactory(slug="pending", name="Pending")
    f.VendorOnboardingFactory(vendor=pending, environment=world.environment, status=OnboardingStatus.TRAINING)
    f.VendorEngineerFactory(username="pend-eng", vendor=pending)
    return world


def test_the_assignee_and_vendor_lists_equal_the_querysets_the_forms_built(crowded):
    world = crowded
    requests = [
        file_request(world),  # no vendor yet
        walk_to(world, RequestState.QUEUED),  # a vendor, nobody assigned
        walk_to(world, RequestState.IN_PROGRESS),  # assigned
    ]
    assert requests[2].assignee_id
    for user in (world.pm, world.vendor_engineer, world.vendor_lead, world.other_vendor_engineer):
        for service_request in requests:
            label = (user.username, service_request.state)
            who = Assignees(
                program_manager=user.has_perm("requests_app.triage_request"),
                environment_id=service_request.environment_id,
                vendor_id=service_request.vendor_id,
                assignee_id=service_request.assignee_id,
            )
            expected = _engineers_as_the_form_built_them(service_request, user)
            listed = FormChoices().engineers(who)
            assert [(u.pk, u.vendor) for u in listed] == [(u.pk, u.vendor) for u in expected], label
            assert list(who.queryset()) == expected, label
    pm_sees = {u.username for u in FormChoices().engineers(Assignees(True, world.environment.pk, None, None))}
    assert {"aaa-opti", "opti-eng", "gwl-eng"} <= pm_sees
    assert not pm_sees & {"opti-gone", "else-eng", "pend-eng"}
    assert FormChoices().live_vendors(world.environment.pk) == list(live_vendors(world.environment.pk))


def test_the_reassign_form_reads_each_list_once_and_builds_no_queryset_until_it_validates(crowded):
    world = crowded
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    form = TransitionForm(
        name="reassign", spec=services.TRANSITIONS["reassign"], service_request=service_request, user=world.pm
    )
    with CaptureQueriesContext(connection) as captured:
        form.as_div()
        form.as_div()
    assert len(captured.captured_queries) == 2  # the live vendors and the engineers, each once
    assert form.fields["assignee"]._queryset is None and form.fields["vendor"]._queryset is None
    offered = [value for value, _ in form.fields["assignee"].choices if value]
    assert str(service_request.assignee_id) not in [str(value) for value in offered]


@pytest.mark.parametrize(
    ("assignee", "valid"), [("aaa-opti", True), ("else-eng", False), ("opti-gone", False), ("current", False)]
)
def test_a_submitted_assignee_is_checked_against_the_queryset(crowded, assignee, valid):
    world = crowded
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    user = service_request.assignee if assignee == "current" else User.objects.get(username=assignee)
    form = TransitionForm(
        {"reassign-vendor": world.vendor_a.pk, "reassign-assignee": user.pk},
        name="reassign",
        spec=services.TRANSITIONS["reassign"],
        service_request=service_request,
        user=world.pm,
    )
    assert form.is_valid() is valid, form.errors
    if valid:
        assert form.cleaned_data["assignee"] == user
    else:
        assert "assignee" in form.errors
