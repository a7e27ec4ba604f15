"""The Monday e-mail: last week's report with its PDF, once per week, to the configured list."""

from __future__ import annotations

import io

import pytest
from celery.schedules import crontab
from django.core import mail
from pypdf import PdfReader

from portal.celery import app
from reports import services
from reports.models import WeeklyReportEmail
from reports.tasks import report_weekly_email as report_weekly_email_task

from .conftest import ist

pytestmark = pytest.mark.django_db
MONDAY_9 = ist(23, 9)


def test_sends_last_weeks_report_with_the_pdf(dataset, settings):
    settings.PORTICO_REPORT_RECIPIENTS = ["pm@example.test", "egov@example.test"]

    delivery = services.report_weekly_email_send(now=MONDAY_9)

    assert delivery.week == "2026-W47" and delivery.recipients == ["pm@example.test", "egov@example.test"]
    [message] = mail.outbox
    assert message.subject == "Portico weekly SLA report 2026-W47"
    assert message.to == ["pm@example.test", "egov@example.test"]
    assert "Created: 7 (+4 on 2026-W46)" in message.body
    assert "Response SLA compliance: 50.0 % (−50.0 pp on 2026-W46)" in message.body
    assert "Breaches: 5" in message.body
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == ("portico-sla-2026-W47.pdf", "application/pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "Weekly SLA report 2026-W47" in text and "R11" in text  # the system's report covers every vendor


def test_sends_once_per_week(dataset, settings):
    settings.PORTICO_REPORT_RECIPIENTS = ["pm@example.test"]

    services.report_weekly_email_send(now=MONDAY_9)
    again = services.report_weekly_email_send(now=ist(23, 10))

    assert again is None
    assert len(mail.outbox) == 1 and WeeklyReportEmail.objects.count() == 1


def test_sends_nothing_without_recipients(dataset, settings):
    settings.PORTICO_REPORT_RECIPIENTS = []

    assert services.report_weekly_email_send(now=MONDAY_9) is None
    assert mail.outbox == [] and not WeeklyReportEmail.objects.exists()


def test_task_runs_the_service(dataset, settings):
    settings.PORTICO_REPORT_RECIPIENTS = ["pm@example.test"]

    result = report_weekly_email_task.apply()

    assert result.successful()
    assert WeeklyReportEmail.objects.get().week == result.result
    assert len(mail.outbox) == 1


def test_beat_runs_it_monday_at_nine():
    entry = app.conf.beat_schedule["reports-weekly-email"]

    assert entry["task"] == report_weekly_email_task.name == "reports.tasks.report_weekly_email"
    assert entry["schedule"] == crontab(minute=0, hour=9, day_of_week="mon")
    assert app.conf.timezone == "Asia/Kolkata"
