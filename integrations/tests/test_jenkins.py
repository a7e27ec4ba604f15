"""JenkinsAdapter over HTTP against the Jenkins stub."""

from __future__ import annotations

import time

import pytest

from integrations.config import JenkinsConfig
from integrations.errors import ErrorKind, IntegrationError, TransientIntegrationError
from integrations.jenkins import JenkinsAdapter
from integrations.jenkins.stub import CRUMB
from integrations.tests.conftest import FAST_TIMEOUT


def follow(jenkins, job, queue_id):
    """Poll the queue item until it starts, then the build until it finishes; return every state seen."""
    seen = []
    item = jenkins.queue_status(queue_id)
    seen.append(item.state)
    while item.state == "waiting":
        item = jenkins.queue_status(queue_id)
        seen.append(item.state)
    build = jenkins.build_status(job=job, number=item.build_number)
    seen.append(build.status)
    while not build.finished:
        build = jenkins.build_status(job=job, number=item.build_number)
        seen.append(build.status)
    return seen, build


def test_trigger_and_follow_queue_item_to_build_to_result(jenkins, jenkins_stub):
    queue_id = jenkins.trigger_build(job="deploy", parameters={"NAMESPACE": "team-a"}, run_id="run-7")

    seen, build = follow(jenkins, "deploy", queue_id)

    assert seen == ["waiting", "started", "building", "SUCCESS"]
    assert build.succeeded and build.number == 1
    assert build.console_url == f"{jenkins_stub.url}/job/deploy/1/console"
    post = jenkins_stub.calls_to("POST", "/job/deploy/buildWithParameters")[0]
    assert post.query == {"NAMESPACE": ["team-a"], "PORTICO_RUN_ID": ["run-7"]}
    assert post.headers["jenkins-crumb"] == CRUMB
    assert jenkins_stub.calls[0].path == "/crumbIssuer/api/json"


def test_folder_job_failure_is_reported(jenkins, jenkins_stub):
    queue_id = jenkins.trigger_build(job="team/release", parameters={"TAG": "v1"})

    _, build = follow(jenkins, "team/release", queue_id)

    assert build.status == "FAILURE" and not build.succeeded
    assert jenkins_stub.calls_to("POST", "/job/team/job/release/buildWithParameters")
    assert build.url.endswith("/job/team/job/release/1/")


def test_job_without_parameters_uses_build(jenkins, jenkins_stub):
    jenkins.trigger_build(job="deploy")

    assert jenkins_stub.calls_to("POST", "/job/deploy/build")


def test_cancelled_queue_item(jenkins, jenkins_stub):
    queue_id = jenkins.trigger_build(job="deploy", parameters={"A": "1"})
    jenkins_stub.queue[queue_id].cancelled = True

    item = jenkins.queue_status(queue_id)

    assert item.state == "cancelled" and item.build_number is None


def test_unknown_job_queue_item_and_build_are_not_found(jenkins):
    for call in (
        lambda: jenkins.trigger_build(job="ghost", parameters={"A": "1"}),
        lambda: jenkins.queue_status(999),
        lambda: jenkins.build_status(job="deploy", number=42),
    ):
        with pytest.raises(IntegrationError) as info:
            call()
        assert info.value.kind is ErrorKind.NOT_FOUND and not info.value.transient


def test_missing_crumb_rejection_is_unauthorised(jenkins_stub):
    # A controller whose crumb issuer is hidden (404) but still demands crumbs answers 403.
    jenkins_stub.fail("/crumbIssuer/api/json", 404)
    adapter = JenkinsAdapter(JenkinsConfig(url=jenkins_stub.url, user="portico", api_token=jenkins_stub.api_token))

    with pytest.raises(IntegrationError) as info:
        adapter.trigger_build(job="deploy", parameters={"A": "1"})

    assert info.value.kind is ErrorKind.UNAUTHORISED and info.value.status == 403


def test_server_error_on_a_folded_status_is_transient(jenkins, jenkins_stub):
    """python-jenkins folds 500 into the same exception as 401/403; the status decides."""
    jenkins_stub.fail("/queue/item/*", 500)
    queue_id = jenkins.trigger_build(job="deploy", parameters={"A": "1"})

    with pytest.raises(TransientIntegrationError) as info:
        jenkins.queue_status(queue_id)

    assert info.value.status == 500 and info.value.kind is ErrorKind.UNAVAILABLE


def test_bad_gateway_is_transient(jenkins, jenkins_stub):
    jenkins_stub.fail("/job/deploy/buildWithParameters", 502)

    with pytest.raises(TransientIntegrationError) as info:
        jenkins.trigger_build(job="deploy", parameters={"A": "1"})

    assert info.value.status == 502


def test_find_build_by_run_id_while_queued_and_after_start(jenkins):
    queue_id = jenkins.trigger_build(job="deploy", parameters={"A": "1"}, run_id="run-1")
    jenkins.trigger_build(job="deploy", parameters={"A": "1"}, run_id="run-2")

    queued = jenkins.find_build_by_run_id(job="deploy", run_id="run-1")
    jenkins.queue_status(queue_id)
    jenkins.queue_status(queue_id)  # second poll starts build #1
    started = jenkins.find_build_by_run_id(job="deploy", run_id="run-1")

    assert queued is not None and queued.queue_id == queue_id and queued.build_number is None
    assert started is not None and started.build_number == 1 and started.queue_id == queue_id
    assert jenkins.find_build_by_run_id(job="deploy", run_id="run-9") is None


def test_redelivered_trigger_finds_the_build_instead_of_starting_another(jenkins_stub):
    """The POST was slow: Jenkins queued it after we timed out. The retry looks before it triggers."""
    config = JenkinsConfig(jenkins_stub.url, jenkins_stub.user, jenkins_stub.api_token, timeout=FAST_TIMEOUT)
    adapter = JenkinsAdapter(config)
    jenkins_stub.slow("/job/deploy/buildWithParameters", 0.8)

    with pytest.raises(TransientIntegrationError):
        adapter.trigger_build(job="deploy", parameters={"A": "1"}, run_id="run-5")
    deadline = time.monotonic() + 5
    while not jenkins_stub.queue and time.monotonic() < deadline:
        time.sleep(0.05)

    found = adapter.find_build_by_run_id(job="deploy", run_id="run-5")

    assert found is not None and found.queue_id in jenkins_stub.queue
    assert len(jenkins_stub.queue) == 1


def test_check_reports_user_and_version(jenkins):
    result = jenkins.check()

    assert result.ok and "2.479.3" in result.summary and "portico" in result.summary
