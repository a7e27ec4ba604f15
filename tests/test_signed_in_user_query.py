"""The signed-in user in one query (portal.auth_backends, portal.tokens): whatever the query primes on the user
object equals what Django and the domain's own accessors read, and nothing is cached past the request, so a change
to a token, a user, their groups or teams shows on the very next call."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.auth_backends import PortalModelBackend
from portal.otp.services import otp_has_confirmed_device
from portal.tokens import _hash as key_hash
from portal.tokens import api_token_create, api_token_revoke, api_token_usable
from requests_app.api.serializers import MeSerializer, me_representation
from requests_app.permissions import team_ids, team_slugs
from requests_app.roles import PROGRAM_MANAGERS
from requests_app.tests import factories as f

pytestmark = pytest.mark.django_db


def _people(world):
    superuser = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    direct = f.UserFactory(username="direct")
    direct.user_permissions.add(Permission.objects.get(codename="view_all_requests"))
    world.requester.teams.add(world.team_b)  # two teams, to check their order
    return [
        world.requester,
        world.vendor_engineer,
        world.vendor_lead,
        world.pm,
        world.approver,
        superuser,
        direct,
    ]


def _loaded_by_token(user):
    _, key = api_token_create(user=user, name="check", expires_in_days=1)
    token = api_token_usable(key_hash=key_hash(key), now=timezone.now())
    assert token is not None
    return token.user


def _loaded_by_session(user):
    return PortalModelBackend().get_user(str(user.pk))


@pytest.mark.parametrize("load", [_loaded_by_token, _loaded_by_session])
def test_what_the_one_query_primes_equals_what_django_and_the_domain_read_themselves(world, load):
    assert connection.vendor == "postgresql"
    for person in _people(world):
        loaded = load(person)
        fresh = get_user_model().objects.get(pk=person.pk)  # reads each on its own
        assert loaded.get_all_permissions() == fresh.get_all_permissions(), person
        assert team_ids(loaded) == team_ids(fresh), person
        assert team_slugs(loaded) == team_slugs(fresh), person
        assert loaded.vendor == fresh.vendor, person
        assert me_representation(loaded) == MeSerializer(fresh).data, person
        # the primed answer, and the plain query it replaces
        assert otp_has_confirmed_device(loaded) is TOTPDevice.objects.filter(user=fresh, confirmed=True).exists()


@pytest.mark.parametrize("load", [_loaded_by_token, _loaded_by_session])
def test_the_primed_two_factor_answer_equals_the_device_query(world, load, django_assert_num_queries):
    people = _people(world)
    TOTPDevice.objects.create(user=people[1], name="phone", confirmed=True)
    TOTPDevice.objects.create(user=people[2], name="phone", confirmed=False)  # set up, never confirmed
    TOTPDevice.objects.create(user=people[3], name="old", confirmed=False)
    TOTPDevice.objects.create(user=people[3], name="phone", confirmed=True)
    for person in people:
        loaded = load(person)
        fresh = get_user_model().objects.get(pk=person.pk)
        with django_assert_num_queries(0):  # primed by the one query
            primed = otp_has_confirmed_device(loaded)
        with django_assert_num_queries(1):  # a user loaded otherwise asks the database
            plain = otp_has_confirmed_device(fresh)
        assert primed is plain is TOTPDevice.objects.filter(user=person, confirmed=True).exists(), person
    assert [otp_has_confirmed_device(load(person)) for person in people[:4]] == [False, True, False, True]


def test_me_lists_teams_by_name_as_the_serializer_does(world):
    world.requester.teams.add(world.team_b)
    body = _me(world.requester).json()
    assert body["teams"] == [team.slug for team in sorted([world.team_a, world.team_b], key=lambda team: team.name)]
    assert body == MeSerializer(get_user_model().objects.get(pk=world.requester.pk)).data


def _me(user, key=None):
    if key is None:
        _, key = api_token_create(user=user, name="me", expires_in_days=1)
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/me/")


def test_a_revoked_token_is_refused_on_the_very_next_request(world):
    token, key = api_token_create(user=world.vendor_engineer, name="ci", expires_in_days=1)
    assert _me(world.vendor_engineer, key).status_code == 200
    api_token_revoke(user=world.vendor_engineer, token_id=token.pk)
    assert _me(world.vendor_engineer, key).status_code == 401


def test_a_deactivated_user_is_refused_on_the_very_next_request(world):
    _, key = api_token_create(user=world.vendor_engineer, name="ci", expires_in_days=1)
    assert _me(world.vendor_engineer, key).status_code == 200
    get_user_model().objects.filter(pk=world.vendor_engineer.pk).update(is_active=False)  # even without signals
    assert _me(world.vendor_engineer, key).status_code == 401


def test_group_team_and_vendor_changes_show_on_the_very_next_request(world):
    _, key = api_token_create(user=world.requester, name="ci", expires_in_days=1)
    assert _me(world.requester, key).json()["role"] == "requester"
    world.requester.groups.add(Group.objects.get(name=PROGRAM_MANAGERS))
    world.requester.teams.remove(world.team_a)
    body = _me(world.requester, key).json()
    assert (body["role"], body["teams"]) == ("program_manager", [])
    Group.objects.get(name=PROGRAM_MANAGERS).permissions.clear()  # the group's rights, not the membership
    assert _me(world.requester, key).json()["role"] == "requester"


def test_a_session_of_a_deactivated_or_unknown_user_is_signed_out(world):
    backend = PortalModelBackend()
    assert backend.get_user("not-a-number") is None
    assert backend.get_user(str(10**12)) is None
    get_user_model().objects.filter(pk=world.requester.pk).update(is_active=False)
    assert backend.get_user(str(world.requester.pk)) is None
