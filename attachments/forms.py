from django import forms


class AttachmentForm(forms.Form):
    same_html_unbound = True  # unbound, its HTML is kept per process (requests_app/templatetags/request_page.py)

    file = forms.FileField(label="Attach a file")
