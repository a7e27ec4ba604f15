from __future__ import annotations

from rest_framework import serializers

from portal.api import fields as portal_fields
from portal.models import User

from ..models import Attachment


class AttachmentSerializer(portal_fields.ModelSerializer):
    uploaded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        read_only=True, slug_field="username", allow_null=True
    )
    comment = serializers.IntegerField(source="event_id", read_only=True, allow_null=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id", "filename", "content_type", "size", "sha256", "internal", "source", "comment", "uploaded_by",
            "created_at", "download_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, attachment: Attachment) -> str:
        return f"/api/v1/requests/{attachment.service_request.reference}/attachments/{attachment.pk}/download/"


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The file, as multipart/form-data; its type is sniffed from the bytes.")
    internal = serializers.BooleanField(
        required=False, default=False, help_text="Only eGov DevOps, the PM and the vendor see internal attachments."
    )
