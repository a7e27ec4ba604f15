"""docker-compose.yml, the Dockerfile, .env.example and the README agree with what the settings actually read."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "portal" / "settings"
APP_SERVICES = ("migrate", "web", "worker", "beat", "mail")
REQUIRED_IN_PRODUCTION = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"}
# env("X"…), env.int("X"…), env.db("X"…), os.environ.get("X"), os.environ.setdefault("X"…), os.environ["X"]
READ_PATTERN = re.compile(
    r"""(?:\benv(?:\.\w+)?\(|os\.environ(?:\.get|\.setdefault)?\(|os\.environ\[)\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def settings_variables() -> set[str]:
    """Every environment variable portal/settings reads."""
    names: set[str] = set()
    for path in SETTINGS.glob("*.py"):
        text = path.read_text()
        names.update(READ_PATTERN.findall(text))
        # production.py checks its essentials in a loop over a tuple of names
        for group in re.findall(r"for _name in \(([^)]*)\)", text):
            names.update(re.findall(r"[\"']([A-Z][A-Z0-9_]+)[\"']", group))
    return names


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_of(service: dict) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else command


def shell_steps(service: dict) -> list[list[str]]:
    """The commands of a `sh -c "a && b"` service, each split into words; a plain command is one step."""
    command = command_of(service)
    if command[:2] != ["sh", "-c"]:
        return [command]
    return [shlex.split(step) for step in command[2].split("&&")]


def test_the_settings_scan_finds_the_variables_it_should():
    names = settings_variables()
    assert names >= REQUIRED_IN_PRODUCTION
    assert {"CELERY_BROKER_URL", "EMAIL_URL", "DEBUG", "PORTICO_AUTO_CLOSE_AFTER_DAYS"} <= names


def test_compose_has_every_service(compose):
    assert set(compose["services"]) == {"postgres", "redis", "rabbitmq", "migrate", "web", "worker", "beat", "mail"}


def test_each_app_service_runs_the_right_command(compose):
    services = compose["services"]
    # As the owner: the application role's grants first (tables this release creates inherit them), then migrate.
    steps = shell_steps(services["migrate"])
    assert [step[:3] for step in steps] == [["python", "manage.py", "db_roles"], ["python", "manage.py", "migrate"]]
    web = command_of(services["web"])
    assert web[0] == "gunicorn" and "portal.wsgi:application" in web
    assert command_of(services["worker"])[:4] == ["celery", "-A", "portal", "worker"]
    assert command_of(services["beat"])[:4] == ["celery", "-A", "portal", "beat"]
    assert services["migrate"].get("restart") == "no"  # a one-off job, not a daemon
    assert "8000:8000" in services["web"]["ports"]
    mail = command_of(services["mail"])
    assert mail[:3] == ["python", "manage.py", "mail_listener"] and "--lmtp" in mail
    # Inside its container; the published port below is what limits who can reach it.
    assert mail[mail.index("--port") + 1] == "8025" and mail[mail.index("--host") + 1] == "0.0.0.0"  # noqa: S104
    assert services["mail"]["ports"] == ["127.0.0.1:8025:8025"]  # for the MTA on this host, not the internet
    # Attachments are written by web and mail and read by web: one volume for all of them.
    for name in ("web", "worker", "mail"):
        assert "media:/app/var/media" in services[name]["volumes"], name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_use_production_settings_and_only_variables_the_settings_read(compose, name):
    service = compose["services"][name]
    environment = service["environment"]
    assert environment["DJANGO_SETTINGS_MODULE"] == "portal.settings.production"
    assert environment["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")
    assert (
        environment["CELERY_BROKER_URL"].startswith("amqp://") and "@rabbitmq:5672/" in environment["CELERY_BROKER_URL"]
    )
    assert set(environment) >= REQUIRED_IN_PRODUCTION
    assert set(environment) - {"DJANGO_SETTINGS_MODULE"} <= settings_variables()
    assert "build" in service


def test_secret_key_must_be_supplied_not_defaulted(compose):
    assert compose["services"]["web"]["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")


def test_healthchecks_and_start_order(compose):
    services = compose["services"]
    for name in ("postgres", "redis", "rabbitmq", "web", "worker", "mail"):
        assert services[name]["healthcheck"]["test"], name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "rabbitmq-diagnostics" in " ".join(services["rabbitmq"]["healthcheck"]["test"])
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("web", "worker", "beat", "mail"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "rabbitmq": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name


def test_migrations_run_as_the_owner_and_everything_else_as_the_application_role(compose):
    services = compose["services"]
    postgres = services["postgres"]["environment"]
    owner, app, database = postgres["PORTICO_DB_OWNER"], postgres["PORTICO_DB_APP"], postgres["PORTICO_DB_NAME"]
    assert owner != app
    migrate = urlsplit(services["migrate"]["environment"]["DATABASE_URL"])
    assert (migrate.username, migrate.path) == (owner, f"/{database}")
    for name in ("web", "worker", "beat", "mail"):
        url = urlsplit(services[name]["environment"]["DATABASE_URL"])
        assert (url.username, url.path) == (app, f"/{database}"), name
    db_roles = shell_steps(services["migrate"])[0]
    assert db_roles[db_roles.index("--app-role") + 1] == app
    # The roles and the database are made by deploy/postgres/roles.sql when the volume is first initialised.
    volumes = services["postgres"]["volumes"]
    assert "./deploy/postgres:/portico-postgres:ro" in volumes
    assert any(v.startswith("./deploy/postgres/initdb.sh:/docker-entrypoint-initdb.d/") for v in volumes)
    initdb = (ROOT / "deploy" / "postgres" / "initdb.sh").read_text()
    assert "/portico-postgres/roles.sql" in initdb
    for variable in ("PORTICO_DB_NAME", "PORTICO_DB_OWNER", "PORTICO_DB_APP"):
        assert f"${{{variable}" in initdb, variable


def test_rabbitmq_credentials_match_the_broker_url(compose):
    rabbitmq = compose["services"]["rabbitmq"]["environment"]
    url = urlsplit(compose["services"]["worker"]["environment"]["CELERY_BROKER_URL"])
    assert url.username == rabbitmq["RABBITMQ_DEFAULT_USER"]
    assert url.password == rabbitmq["RABBITMQ_DEFAULT_PASS"]
    assert url.path == f"/{rabbitmq['RABBITMQ_DEFAULT_VHOST']}"
    assert compose["services"]["rabbitmq"]["hostname"]  # its data lives under rabbit@<hostname>


def test_dockerfile_is_slim_non_root_gunicorn_with_collected_static():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r'^CMD \["gunicorn", "portal\.wsgi:application"', dockerfile, re.MULTILINE)
    assert "DJANGO_SETTINGS_MODULE=portal.settings.production" in dockerfile


def test_env_example_names_only_real_settings_and_all_production_essentials():
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert names >= REQUIRED_IN_PRODUCTION
    assert names <= settings_variables()


def test_readme_documents_every_variable_the_settings_read():
    readme = (ROOT / "README.md").read_text()
    table_names = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|", readme, re.MULTILINE))
    assert settings_variables() <= table_names, settings_variables() - table_names
    assert table_names <= settings_variables() | {"DJANGO_SETTINGS_MODULE"}, table_names - settings_variables()
