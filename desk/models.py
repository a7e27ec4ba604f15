"""Saved views: a user's named filters and sort over one of the lists, private or shared with a team or vendor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from portal.models import User


class ListName(models.TextChoices):
    """The lists a view can belong to; the API applies any view to its request list."""

    REQUESTS = "requests", "Requests"
    QUEUE = "queue", "Vendor queue"
    TRIAGE = "triage", "Triage inbox"
    APPROVALS = "approvals", "Approvals"


class Sharing(models.TextChoices):
    PRIVATE = "private", "Only me"
    TEAM = "team", "My team"
    VENDOR = "vendor", "My vendor"


class SavedViewQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> Self:
        """My own views, and those shared with a team I am in or with my vendor."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        scope = Q(owner=user) | Q(sharing=Sharing.TEAM, team__in=user.teams.values("pk"))
        if user.vendor_id:
            scope |= Q(sharing=Sharing.VENDOR, vendor_id=user.vendor_id)
        return self.filter(scope)


class SavedView(models.Model):
    """A name for the filters and sort of a list (`query`, a URL query string), opened with one click."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=80)
    list_name = models.CharField(max_length=16, choices=ListName, default=ListName.REQUESTS)
    query = models.CharField(max_length=1000, blank=True, help_text="Filters and sort, as a URL query string.")
    sharing = models.CharField(max_length=8, choices=Sharing, default=Sharing.PRIVATE)
    team = models.ForeignKey("requests_app.Team", null=True, blank=True, on_delete=models.CASCADE)
    vendor = models.ForeignKey("requests_app.Vendor", null=True, blank=True, on_delete=models.CASCADE)
    is_default = models.BooleanField(default=False, help_text="Opened when the owner opens the list plainly.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "list_name", "name"], name="one_view_name_per_list"),
            models.UniqueConstraint(
                fields=["owner", "list_name"], condition=Q(is_default=True), name="one_default_view_per_list"
            ),
            models.CheckConstraint(
                condition=Q(sharing="private", team__isnull=True, vendor__isnull=True)
                | Q(sharing="team", team__isnull=False, vendor__isnull=True)
                | Q(sharing="vendor", vendor__isnull=False, team__isnull=True),
                name="view_shared_with_its_audience",
            ),
        ]
        indexes = [models.Index(fields=["owner", "list_name"], name="view_owner_list")]

    def __str__(self) -> str:
        return self.name
