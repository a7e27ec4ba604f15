"""The Kubernetes manifests, Prometheus rules and Grafana dashboard are valid and match what the code exposes."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
ADAPTER_RULES = ROOT / "deploy" / "prometheus" / "adapter-rules.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "portico-dashboard.json"


def _documents() -> list[tuple[str, dict]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def _containers() -> list[tuple[str, dict]]:
    found = []
    for name, doc in _documents():
        if doc["kind"] in ("Deployment", "Job"):
            containers = doc["spec"]["template"]["spec"]["containers"]
            found += [(f"{name}:{c['name']}", c) for c in containers if c["image"] == "portico"]
    return found


@pytest.mark.parametrize(("name", "doc"), _documents(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_every_manifest_passes_the_kubernetes_schema(name, doc):
    # raises ValidationError naming the offending field; returns the version it validated against
    assert kubernetes_validate.validate(doc, "1.31", strict=True) == "1.31"


def test_kustomization_lists_every_manifest_but_the_secret_examples():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    examples = {p.name for p in K8S.glob("*.example.yaml")}
    assert examples == {"secret.example.yaml", "secret-migrate.example.yaml", "secret-pgbouncer.example.yaml"}
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"} - examples
    assert listed == present


def test_web_probes_health_endpoints_and_every_container_requests_resources():
    web = dict(_containers())["web.yaml:web"]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for name, container in _containers():
        assert container["resources"]["requests"]["cpu"], name
        assert container["resources"]["requests"]["memory"], name
        sources = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert sources == {"portico-config", "portico-secrets"}, name


def test_exactly_one_beat():
    beat = next(doc for _, doc in _documents() if doc["metadata"]["name"] == "portico-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"


def test_config_names_only_variables_the_settings_read():
    settings_text = "".join(p.read_text() for p in (ROOT / "portal" / "settings").glob("*.py"))
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_text)) | {"DJANGO_SETTINGS_MODULE"}
    config = yaml.safe_load((K8S / "configmap.yaml").read_text())["data"]
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())["stringData"]
    migrate_secret = yaml.safe_load((K8S / "secret-migrate.example.yaml").read_text())["stringData"]
    assert set(config) | set(secret) | set(migrate_secret) <= read


def test_migrations_run_as_the_owner_and_only_the_migrate_job_holds_its_credentials():
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    migrate_secret = yaml.safe_load((K8S / "secret-migrate.example.yaml").read_text())
    app_user = urlsplit(secret["stringData"]["DATABASE_URL"]).username
    owner = urlsplit(migrate_secret["stringData"]["DATABASE_URL"]).username
    assert owner != app_user
    containers = dict(_containers())
    migrate = containers.pop("migrate-job.yaml:migrate")
    (database_url,) = [variable for variable in migrate["env"] if variable["name"] == "DATABASE_URL"]
    reference = database_url["valueFrom"]["secretKeyRef"]
    assert reference == {"name": migrate_secret["metadata"]["name"], "key": "DATABASE_URL"}
    assert migrate["command"][:2] == ["sh", "-c"]
    steps = [shlex.split(step) for step in migrate["command"][2].split("&&")]
    assert [step[:3] for step in steps] == [["python", "manage.py", "db_roles"], ["python", "manage.py", "migrate"]]
    assert steps[0][steps[0].index("--app-role") + 1] == app_user
    for name, container in containers.items():  # web, worker, beat: the application's role only
        assert migrate_secret["metadata"]["name"] not in json.dumps(container), name


def test_the_broker_is_rabbitmq():
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text())["stringData"]
    assert secret["CELERY_BROKER_URL"].startswith("amqp://")


def test_prometheus_rules_pass_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing; `make test` installs Debian's prometheus package")
        pytest.skip("promtool not installed (make test installs it)")
    result = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _exposed_metric_names() -> set[str]:
    # The kernel's own metrics and those each app registers from its metrics.py (see portal.metrics).
    source = "\n".join(path.read_text() for path in sorted(ROOT.glob("*/metrics.py")))
    names = set(re.findall(r'MetricFamily\(\s*"(portico_[a-z_]+)"', source))
    counters = set(re.findall(r'CounterMetricFamily\(\s*"(portico_[a-z_]+)"', source))
    summaries = set(re.findall(r'SummaryMetricFamily\(\s*"(portico_[a-z_]+)"', source))
    return names | {f"{n}_total" for n in counters} | {f"{n}_{s}" for n in summaries for s in ("sum", "count")}


def test_alerts_and_dashboard_only_use_metrics_portico_exposes():
    exposed = _exposed_metric_names()
    rules = yaml.safe_load(RULES.read_text())
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    expressions += [t["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for t in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"\bportico_[a-z_]+", expr)}
    assert used and used <= exposed, used - exposed


def _named(kind: str, name: str) -> dict:
    return next(doc for _, doc in _documents() if doc["kind"] == kind and doc["metadata"]["name"] == name)


def test_web_and_workers_scale_horizontally_and_beat_never_does():
    autoscalers = {doc["metadata"]["name"]: doc for _, doc in _documents() if doc["kind"] == "HorizontalPodAutoscaler"}
    targets = {doc["spec"]["scaleTargetRef"]["name"] for doc in autoscalers.values()}
    assert targets == {"portico-web", "portico-worker"}
    for doc in autoscalers.values():
        _named("Deployment", doc["spec"]["scaleTargetRef"]["name"])  # scales a deployment that exists
        assert doc["spec"]["minReplicas"] >= 2

    worker_metrics = {m["type"]: m for m in autoscalers["portico-worker"]["spec"]["metrics"]}
    assert set(worker_metrics) == {"External", "Resource"}
    external = worker_metrics["External"]["external"]["metric"]["name"]
    adapter = yaml.safe_load(ADAPTER_RULES.read_text())["externalRules"]
    served = {rule["name"]["as"] for rule in adapter}
    assert external in served  # prometheus-adapter serves the metric the autoscaler asks for…
    queried = {name for rule in adapter for name in re.findall(r"\bportico_[a-z_]+", rule["metricsQuery"])}
    assert queried <= _exposed_metric_names()  # …from a series /metrics really reports


def test_the_portal_reaches_postgres_through_pgbouncer_in_transaction_mode_and_migrations_do_not():
    ini = _named("ConfigMap", "portico-pgbouncer")["data"]["pgbouncer.ini"]
    assert re.search(r"^pool_mode = transaction$", ini, re.MULTILINE)
    service = _named("Service", "pgbouncer")
    port = service["spec"]["ports"][0]["port"]

    app_url = urlsplit(yaml.safe_load((K8S / "secret.example.yaml").read_text())["stringData"]["DATABASE_URL"])
    assert (app_url.hostname.split(".")[0], app_url.port) == ("pgbouncer", port)
    config = yaml.safe_load((K8S / "configmap.yaml").read_text())["data"]
    assert config["PORTICO_DB_TRANSACTION_POOLER"] == "1"  # what tests/test_db_roles.py proves it needs
    owner_url = urlsplit(
        yaml.safe_load((K8S / "secret-migrate.example.yaml").read_text())["stringData"]["DATABASE_URL"]
    )
    assert owner_url.hostname.split(".")[0] == "postgres"
