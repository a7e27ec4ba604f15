from __future__ import annotations

from rest_framework import serializers

from requests_app.models import Environment, Vendor

from .models import ChatKind, ChatWebhook, Mode


class NotificationSettingsSerializer(serializers.Serializer):
    """How I hear, per channel: `immediate`, `digest` (once a day) or `off`; and my own chat webhook."""

    email = serializers.ChoiceField(choices=Mode.choices, required=False)
    in_app = serializers.ChoiceField(choices=Mode.choices, required=False)
    chat = serializers.ChoiceField(
        choices=Mode.choices, required=False, help_text="Posts to my own Slack or Teams webhook."
    )
    chat_webhook_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="My Slack or Microsoft Teams incoming webhook (http or https); blank removes it, absent keeps it.",
    )
    chat_webhook_kind = serializers.ChoiceField(
        choices=ChatKind.choices,
        required=False,
        allow_blank=True,
        help_text="`slack` or `teams`; blank or absent: told from the address.",
    )


class PersonSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: object) -> str:
        return user.get_full_name() or user.username  # type: ignore[attr-defined]


class MentionQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=150, default="")
    internal = serializers.BooleanField(required=False, default=False)


class WatchersSerializer(serializers.Serializer):
    watching = serializers.BooleanField(help_text="Whether I watch the request.")
    muted = serializers.BooleanField(help_text="Whether I muted the request.")
    watchers = PersonSerializer(many=True)


class WatchInputSerializer(serializers.Serializer):
    muted = serializers.BooleanField(required=False, help_text="Mute (true) or unmute (false) the request for me.")
    copy_team = serializers.BooleanField(required=False, help_text="Make every member of the requester's team watch.")


class ChatWebhookSerializer(serializers.ModelSerializer):
    vendor = serializers.SlugRelatedField(
        slug_field="slug", queryset=Vendor.objects.all(), required=False, allow_null=True
    )
    environment = serializers.SlugRelatedField(
        slug_field="code", queryset=Environment.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = ChatWebhook
        fields = ["id", "name", "kind", "url", "vendor", "environment", "active"]
