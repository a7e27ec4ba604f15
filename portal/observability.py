"""Request ids that follow a request from the web into its Celery tasks, and the task outcome counters."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
HEADER = "portico_request_id"
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Take a sane X-Request-ID from the proxy or make one; log lines and tasks carry it; the response echoes it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # META, not request.headers: the latter builds a dict of every header on first use, for this one value.
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _VALID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record (JSON logs show it as a field)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def celery_logging_setup(loglevel: int | str | None = None, **_: Any) -> None:
    """Worker and beat log through Django's LOGGING, as the web does: JSON lines with LOG_FORMAT=json, each with its
    request id, at the level their --loglevel asks for.

    Connected to Celery's `setup_logging` signal: with a receiver there, Celery leaves logging alone instead of
    replacing the root logger's handlers with its own plain-text one (`worker_hijack_root_logger`)."""
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


def connect_celery_signals() -> None:
    """Carry the request id into published tasks, restore it in the worker, log as the web does, and count task
    outcomes."""
    from celery.signals import (
        before_task_publish,
        setup_logging,
        task_failure,
        task_postrun,
        task_prerun,
        task_retry,
        task_success,
    )

    setup_logging.connect(celery_logging_setup, weak=False)

    @before_task_publish.connect(weak=False)
    def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
        if headers is not None and request_id_var.get() != "-":
            headers[HEADER] = request_id_var.get()

    @task_prerun.connect(weak=False)
    def _restore(task: Any = None, **_: Any) -> None:
        request = getattr(task, "request", None)
        value = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
        request_id_var.set(value or f"task-{getattr(request, 'id', '-')}")

    @task_postrun.connect(weak=False)
    def _clear(**_: Any) -> None:
        request_id_var.set("-")

    def _count(outcome: str) -> Callable[..., None]:
        def handler(sender: Any = None, **_: Any) -> None:
            name = getattr(sender, "name", None) or str(sender)
            try:
                _bump_task(name, outcome)
            except Exception:  # metrics must never break a task
                logging.getLogger(__name__).warning("could not count %s %s", name, outcome, exc_info=True)

        return handler

    task_success.connect(_count("success"), weak=False)
    task_failure.connect(_count("failure"), weak=False)
    task_retry.connect(_count("retry"), weak=False)


def _bump_task(name: str, outcome: str) -> None:
    from django.db.models import F

    from .models import TaskStat

    if not TaskStat.objects.filter(task=name, outcome=outcome).update(count=F("count") + 1):
        TaskStat.objects.get_or_create(task=name, outcome=outcome)
        TaskStat.objects.filter(task=name, outcome=outcome).update(count=F("count") + 1)
