"""Serializers for the kernel's own endpoints: the signed-in user's API tokens."""

from __future__ import annotations

from rest_framework import serializers

from portal.choices import TokenScope
from portal.models import ApiToken
from portal.tokens import DEFAULT_DAYS, MAX_DAYS


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as listed: never its key."""

    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=TokenScope.choices), source="scope_list", read_only=True
    )

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at"]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    """A token just created: the only time its key is shown."""

    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_DAYS,
        required=False,
        help_text=(
            f"Default {DEFAULT_DAYS}, or less where a limit is sooner. At most your role's maximum "
            "(PORTICO_API_TOKEN_MAX_DAYS), and, when a token creates it, no later than that token expires."
        ),
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=TokenScope.choices),
        allow_empty=False,
        required=False,
        help_text=(
            "What the token may do; default read and write. `tokens` lets it create and revoke tokens; "
            "a token creating another can grant only scopes it has."
        ),
    )
