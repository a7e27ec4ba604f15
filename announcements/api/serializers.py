from __future__ import annotations

from rest_framework import serializers

from portal.api import fields as portal_fields
from portal.models import User
from requests_app.api.serializers import MAX_TEXT, KeyRelatedField, StrictSerializer
from requests_app.models import Environment, Vendor

from ..models import Acknowledgement, Announcement, Audience


class AnnouncementSerializer(portal_fields.ModelSerializer):
    vendors: serializers.ManyRelatedField = serializers.SlugRelatedField(  # type: ignore[assignment]
        many=True, read_only=True, slug_field="slug", help_text="With audience `chosen`: these vendors' people."
    )
    environments: serializers.ManyRelatedField = serializers.SlugRelatedField(  # type: ignore[assignment]
        many=True, read_only=True, slug_field="code",
        help_text="With audience `chosen`: the people of every vendor working in these environments.",
    )  # fmt: skip
    posted_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        read_only=True, slug_field="username", allow_null=True
    )
    acknowledged_at = portal_fields.DateTimeField(
        read_only=True, allow_null=True, help_text="When you acknowledged it; null if you have not (or are staff)."
    )

    class Meta:
        model = Announcement
        fields = ["id", "title", "body", "audience", "vendors", "environments", "expires_at", "posted_by", "posted_at",
                  "acknowledged_at"]  # fmt: skip
        read_only_fields = fields


class AnnouncementInputSerializer(StrictSerializer):
    """An announcement's content and audience; `reason` is required when changing one (not when posting)."""

    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=MAX_TEXT)
    audience = serializers.ChoiceField(choices=Audience.choices, required=False, default=Audience.ALL_PARTNERS)
    vendors = serializers.ListField(
        child=KeyRelatedField(noun="vendor", slug_field="slug", queryset=Vendor.objects.all()),
        required=False, default=list, help_text="Vendor slugs (audience `chosen`).",
    )  # fmt: skip
    environments = serializers.ListField(
        child=KeyRelatedField(noun="environment", slug_field="code", queryset=Environment.objects.all()),
        required=False, default=list, help_text="Environment codes (audience `chosen`).",
    )  # fmt: skip
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(
        max_length=MAX_TEXT, required=False, allow_blank=True, help_text="Required when changing an announcement."
    )


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, help_text="Required.")


class ReaderSerializer(serializers.Serializer):
    user = serializers.CharField(source="username", help_text="Username.")
    name = serializers.CharField(source="get_full_name")
    vendor = serializers.CharField(source="vendor.slug", help_text="The vendor's slug.")


class AcknowledgementSerializer(serializers.Serializer):
    user = serializers.CharField(source="user.username", help_text="Username.")
    name = serializers.CharField(source="user.get_full_name")
    vendor = serializers.CharField(source="user.vendor.slug", allow_null=True)
    at = portal_fields.DateTimeField()


class ReadStatusSerializer(serializers.Serializer):
    acknowledged = AcknowledgementSerializer(many=True, help_text="Oldest first.")
    pending = ReaderSerializer(many=True, help_text="The audience's active people who have not acknowledged it.")


class MyAcknowledgementSerializer(serializers.ModelSerializer):
    announcement: serializers.PrimaryKeyRelatedField[Announcement] = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Acknowledgement
        fields = ["announcement", "at"]
        read_only_fields = fields
