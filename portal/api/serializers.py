"""Serializers for the API's own endpoints (not tied to one app's model)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.models import ApiToken, User
from portal.roles import Role, role_of
from requests_app.choices import VendorRole


class MeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="get_full_name", read_only=True)
    role = serializers.SerializerMethodField()
    teams = serializers.SlugRelatedField(many=True, read_only=True, slug_field="slug")
    vendor = serializers.SlugRelatedField(read_only=True, slug_field="slug", allow_null=True)
    # Declared so the schema admits "" (not a vendor member); ModelSerializer drops allow_blank on read-only fields.
    vendor_role = serializers.ChoiceField(choices=VendorRole.choices, allow_blank=True, read_only=True)

    class Meta:
        model = User
        fields = ["username", "name", "email", "role", "teams", "vendor", "vendor_role"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices))
    def get_role(self, user: User) -> str:
        return role_of(user).value


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as listed: never its key."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    """A token just created: the only time its key is shown."""

    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=365, default=90)
