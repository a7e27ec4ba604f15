"""Log-in throttling counts failures per username from any address and per address for any username, besides the
per-pair count, each with its own limit; and the deploy files tell Portico how many proxies stand in front of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
LOGIN = "/accounts/login/"
PASSWORD = "portico-pass-123"  # the factories' password
WRONG = "Winter2026!"  # the one password a sprayer tries everywhere
SPRAYER = "198.51.100.20"


def _log_in(username: str, password: str, address: str = "127.0.0.1", **extra: str):
    return Client().post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


@pytest.mark.django_db
def test_one_address_trying_one_password_on_many_usernames_is_locked_out(world):
    limit = django_settings.PORTICO_LOGIN_IP_FAILURE_LIMIT
    answers = [_log_in(f"user{n}", WRONG, SPRAYER).status_code for n in range(limit)]

    assert answers == [200] * (limit - 1) + [429]
    assert _log_in(world.requester.username, PASSWORD, SPRAYER).status_code == 429  # even the right password
    assert _log_in(world.requester.username, PASSWORD, "203.0.113.5").status_code == 302  # elsewhere: fine


@pytest.mark.django_db
def test_one_username_tried_from_many_addresses_is_locked_out(world):
    limit = django_settings.PORTICO_LOGIN_USERNAME_FAILURE_LIMIT
    answers = [_log_in(world.pm.username, WRONG, f"203.0.113.{n}").status_code for n in range(1, limit + 1)]

    assert answers == [200] * (limit - 1) + [429]
    assert _log_in(world.pm.username, PASSWORD, "192.0.2.99").status_code == 429
    assert _log_in(world.approver.username, PASSWORD, "203.0.113.1").status_code == 302  # other accounts: fine


@pytest.mark.django_db
def test_one_username_from_one_address_keeps_the_tighter_pair_limit(world):
    limit = django_settings.AXES_FAILURE_LIMIT
    assert limit < django_settings.PORTICO_LOGIN_USERNAME_FAILURE_LIMIT < django_settings.PORTICO_LOGIN_IP_FAILURE_LIMIT
    answers = [_log_in(world.requester.username, WRONG, SPRAYER).status_code for _ in range(limit)]

    assert answers[-1] == 429
    assert _log_in(world.requester.username, PASSWORD, "203.0.113.5").status_code == 302


@pytest.mark.django_db
def test_the_limits_come_from_the_settings(world, settings):
    settings.PORTICO_LOGIN_IP_FAILURE_LIMIT = 3
    settings.PORTICO_LOGIN_USERNAME_FAILURE_LIMIT = 4

    assert [_log_in(f"user{n}", WRONG, SPRAYER).status_code for n in range(3)] == [200, 200, 429]
    assert [_log_in("pm", WRONG, f"203.0.113.{n}").status_code for n in range(1, 5)] == [200, 200, 200, 429]


@pytest.mark.django_db
def test_logging_in_to_ones_own_account_does_not_clear_an_addresss_failures(world):
    limit = django_settings.PORTICO_LOGIN_IP_FAILURE_LIMIT
    for n in range(limit - 2):
        _log_in(f"user{n}", WRONG, SPRAYER)
    _log_in(world.requester.username, WRONG, SPRAYER)

    assert _log_in(world.requester.username, PASSWORD, SPRAYER).status_code == 302  # one under the limit

    assert not AccessAttempt.objects.filter(username=world.requester.username).exists()  # their own mistake: forgiven
    assert _log_in("user-next", WRONG, SPRAYER).status_code == 200
    assert _log_in("user-last", WRONG, SPRAYER).status_code == 429  # the others' failures still count


@pytest.mark.django_db
def test_behind_the_counted_proxy_one_client_is_throttled_without_locking_out_the_rest(world, settings):
    settings.PORTICO_PROXY_COUNT = 1
    proxy = "10.0.0.7"  # every request reaches gunicorn from the ingress controller
    limit = settings.PORTICO_LOGIN_IP_FAILURE_LIMIT
    for n in range(limit):
        _log_in(f"user{n}", WRONG, proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, {SPRAYER}")

    assert _log_in("pm", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=SPRAYER).status_code == 429
    assert _log_in("pm", PASSWORD, proxy, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 302


# --- the deploy files say how many proxies append to X-Forwarded-For ----------------------------------------------
def _k8s_documents() -> list[dict]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_kubernetes_counts_its_one_ingress_as_the_proxy():
    config = next(doc for doc in _k8s_documents() if doc["kind"] == "ConfigMap")
    ingresses = [doc for doc in _k8s_documents() if doc["kind"] == "Ingress"]

    assert config["data"]["PORTICO_PROXY_COUNT"] == "1"
    assert len(ingresses) == 1
    [rule] = ingresses[0]["spec"]["rules"]
    [path] = rule["http"]["paths"]
    assert path["backend"]["service"]["name"] == "portico-web"
    assert rule["host"] in config["data"]["ALLOWED_HOSTS"].split(",")
    assert "ingress.yaml" in yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]


@pytest.mark.parametrize("service", ["web", "worker", "beat", "migrate"])
def test_compose_serves_clients_directly_and_counts_no_proxy(service):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    value = compose["services"][service]["environment"]["PORTICO_PROXY_COUNT"]

    assert re.fullmatch(r"\$\{PORTICO_PROXY_COUNT:-(\d+)\}", value).group(1) == "0"
    assert "8000:8000" in compose["services"]["web"]["ports"]  # gunicorn itself faces the clients
