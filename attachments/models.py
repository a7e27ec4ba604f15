"""Files attached to a request or to one of its comments; the bytes live in Django's storage, never in the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from requests_app.models import RequestEvent, ServiceRequest

if TYPE_CHECKING:
    from portal.models import User


class AttachmentSource(models.TextChoices):
    WEB = "web", "Web page"
    API = "api", "API"
    EMAIL = "email", "E-mail"


class AttachmentQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> AttachmentQuerySet:
        """Attachments of requests `user` can see; those of internal notes only for who sees internal notes."""
        from requests_app.permissions import VIEW_ALL

        attachments = self.filter(service_request__in=ServiceRequest.objects.visible_to(user).values("pk"))
        if user.is_authenticated and user.has_perm(VIEW_ALL):
            return attachments
        if user.is_authenticated and user.vendor_id:
            return attachments.filter(models.Q(internal=False) | models.Q(service_request__vendor_id=user.vendor_id))
        return attachments.filter(internal=False)


class Attachment(models.Model):
    service_request = models.ForeignKey(ServiceRequest, on_delete=models.PROTECT, related_name="attachments")
    # The comment (or e-mailed reply) it came with; empty when uploaded on its own.
    event = models.ForeignKey(RequestEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(max_length=300)
    filename = models.CharField(max_length=200)
    # Sniffed from the bytes by `attachments.sniffing`, never the client's word.
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    internal = models.BooleanField(default=False)
    source = models.CharField(max_length=8, choices=AttachmentSource, default=AttachmentSource.WEB)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.filename} on {self.service_request_id}"
