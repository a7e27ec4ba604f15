from __future__ import annotations

from django import forms

from .models import Channel, Mode


class ChannelSettingsForm(forms.Form):
    """One choice per channel: immediately, in a daily digest, or off."""

    email = forms.ChoiceField(label="E-mail", choices=Mode.choices)
    in_app = forms.ChoiceField(label="In the portal", choices=Mode.choices)

    def modes(self) -> dict[str, str]:
        return {channel.value: self.cleaned_data[channel.value] for channel in Channel}


WATCH_ACTIONS = ("watch", "unwatch", "mute", "unmute", "copy-team")


class WatchForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in WATCH_ACTIONS])


class MentionQueryForm(forms.Form):
    """What the comment box typed after an @, and whether the comment is an internal note."""

    q = forms.CharField(required=False, max_length=150)
    internal = forms.BooleanField(required=False)
