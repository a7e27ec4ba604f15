from __future__ import annotations

from django import forms

from .models import Channel, ChatKind, Mode


class ChannelSettingsForm(forms.Form):
    """One choice per channel (immediately, in a daily digest, or off), and the address of my own chat webhook."""

    email = forms.ChoiceField(label="E-mail", choices=Mode.choices)
    in_app = forms.ChoiceField(label="In the portal", choices=Mode.choices)
    chat = forms.ChoiceField(
        label="My Slack or Teams", choices=Mode.choices, help_text="Posted to the incoming webhook below."
    )
    # A plain text field: the service checks the address (scheme, host, kind) and says what is wrong with it.
    chat_webhook_url = forms.CharField(
        label="Incoming webhook address",
        required=False,
        max_length=500,
        help_text="A Slack or Microsoft Teams incoming webhook of your own. Leave empty to have none.",
    )
    chat_webhook_kind = forms.ChoiceField(
        label="Webhook service",
        required=False,
        choices=[("", "Tell from the address"), *ChatKind.choices],
    )

    def modes(self) -> dict[str, str]:
        return {channel.value: self.cleaned_data[channel.value] for channel in Channel}


WATCH_ACTIONS = ("watch", "unwatch", "mute", "unmute", "copy-team")


class WatchForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in WATCH_ACTIONS])


class MentionQueryForm(forms.Form):
    """What the comment box typed after an @, and whether the comment is an internal note."""

    q = forms.CharField(required=False, max_length=150)
    internal = forms.BooleanField(required=False)
