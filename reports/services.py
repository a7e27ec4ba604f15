"""Report writes: the Monday e-mail, claimed once per week so two workers or a retry never send it twice."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse

from .exports import report_pdf
from .formatting import HEADLINES, change_text, figure_text, incident_sections
from .models import WeeklyReportEmail
from .selectors import WeeklyReport, report_week_default, report_weekly

EMAIL_FIGURES = (
    "created",
    "resolved",
    "sla_response_compliance",
    "sla_resolution_compliance",
    "ola_compliance",
    "pick_up_wall_p50",
    "resolve_wall_p50",
    "backlog",
    "csat_count",
    "csat_average",
)


def _body(report: WeeklyReport) -> str:
    lines = [f"Portico weekly SLA report {report.week} ({report.timezone}); the full report is attached.", ""]
    for name, label, kind in HEADLINES:
        if name in EMAIL_FIGURES:
            value = figure_text(getattr(report.summary, name), kind)
            lines.append(f"{label}: {value} ({change_text(report.change[name], kind)} on {report.previous_week})")
    lines += ["", f"Breaches: {report.breaches_total}"]
    # The incident sections in the words of the page and the PDF (the same rows), so none of them is missed.
    for section in incident_sections(report):
        lines += ["", f"{section.title}: {section.summary}"]
        lines += [f"- {' · '.join([row.reference, *row.cells])}" for row in section.rows]
    lines += [
        "",
        f"{settings.PORTAL_BASE_URL}{reverse('reports-weekly')}?week={report.week}",
    ]
    return "\n".join(lines)


@transaction.atomic
def report_weekly_email_send(*, now: datetime | None = None) -> WeeklyReportEmail | None:
    """E-mail last week's report with its PDF to PORTICO_REPORT_RECIPIENTS once; None when there is nothing to do."""
    recipients = list(settings.PORTICO_REPORT_RECIPIENTS)
    if not recipients:
        return None
    tz = settings.PORTICO_REPORT_TIMEZONE
    week = report_week_default(now=now, tz=tz)
    # The unique week claims the send: a second worker waits on the row, then finds it and stops. If sending
    # fails, the transaction rolls back, the claim with it, and the task's retry sends again.
    delivery, created = WeeklyReportEmail.objects.get_or_create(
        week=week, defaults={"tz": tz, "recipients": recipients}
    )
    if not created:
        return None
    report = report_weekly(user=None, week=week, tz=tz, now=now)
    message = EmailMessage(
        subject=f"Portico weekly SLA report {report.week}",
        body=_body(report),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach(f"portico-sla-{report.week}.pdf", report_pdf(report), "application/pdf")
    message.send(fail_silently=False)
    return delivery
