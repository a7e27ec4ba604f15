from django import forms
from django.conf import settings


class CannedResponseForm(forms.Form):
    title = forms.CharField(max_length=100)
    body = forms.CharField(
        label="Text", max_length=settings.PORTICO_MAX_TEXT_LENGTH, widget=forms.Textarea(attrs={"rows": 5})
    )
