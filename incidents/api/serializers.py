from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import OnCallRota
from ..selectors import rota_on_call


class OnCallPersonSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    override = serializers.BooleanField(help_text="Covering by an override rather than by the rota.")


class OnCallNowSerializer(serializers.Serializer):
    """One rota and who is on call in it at the response's instant."""

    rota = serializers.IntegerField(source="pk")
    vendor = serializers.CharField(source="vendor.slug")
    environment = serializers.CharField(source="environment.code")
    shift_days = serializers.IntegerField()
    handover_time = serializers.TimeField()
    timezone = serializers.CharField()
    primary = serializers.SerializerMethodField()
    secondary = serializers.SerializerMethodField()
    next_handover = serializers.SerializerMethodField()

    def _on_call(self, rota: OnCallRota):
        # Three fields read it: work it out once per rota.
        cache: dict = self.__dict__.setdefault("_on_call_cache", {})
        if rota.pk not in cache:
            cache[rota.pk] = rota_on_call(rota, self.context["now"])
        return cache[rota.pk]

    @staticmethod
    def _person(user, cover) -> dict | None:
        if user is None:
            return None
        return {"username": user.username, "name": str(user), "override": cover is not None}

    @extend_schema_field(OnCallPersonSerializer(allow_null=True))
    def get_primary(self, rota: OnCallRota) -> dict | None:
        on_call = self._on_call(rota)
        return self._person(on_call.primary, on_call.primary_cover) if on_call else None

    @extend_schema_field(OnCallPersonSerializer(allow_null=True))
    def get_secondary(self, rota: OnCallRota) -> dict | None:
        on_call = self._on_call(rota)
        return self._person(on_call.secondary, on_call.secondary_cover) if on_call else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_handover(self, rota: OnCallRota) -> str | None:
        on_call = self._on_call(rota)
        return serializers.DateTimeField().to_representation(on_call.shift.ends_at) if on_call else None


class PageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.CharField(source="service_request.reference")
    target = serializers.CharField(source="target.username")
    level = serializers.CharField()
    channel = serializers.CharField(help_text="The channels the page went out on.")
    sent_at = serializers.DateTimeField()
    escalate_after = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", allow_null=True, default=None)
    escalated_at = serializers.DateTimeField(allow_null=True)
    sms_status = serializers.CharField()


class BreakGlassGrantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    request = serializers.CharField(source="service_request.reference")
    system = serializers.CharField()
    subject = serializers.CharField()
    target = serializers.CharField()
    level = serializers.CharField()
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    review_due_at = serializers.SerializerMethodField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    reviewed_by = serializers.CharField(source="reviewed_by.username", allow_null=True, default=None)
    review_note = serializers.CharField()

    @extend_schema_field(serializers.DateTimeField())
    def get_review_due_at(self, grant) -> str:
        from ..breakglass import review_due

        return serializers.DateTimeField().to_representation(review_due(grant))


class BreakGlassTakeSerializer(serializers.Serializer):
    """What the on-call engineer asks for; the user name is always their own."""

    request = serializers.CharField(help_text="The P0 production issue's reference, e.g. REQ-000042.")
    system = serializers.ChoiceField(choices=[("gitlab", "GitLab"), ("kubernetes", "Kubernetes"), ("both", "Both")])
    gitlab_project = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    access_level = serializers.CharField(required=False, max_length=32)
    kubernetes_namespace = serializers.CharField(required=False, allow_blank=True, max_length=63)
    cluster_role = serializers.CharField(required=False, max_length=64)
    duration_hours = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=2000)


class BreakGlassReviewSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="What eGov DevOps found; it goes on the timeline.")
