from django import forms


class AttachmentForm(forms.Form):
    file = forms.FileField(label="Attach a file")
