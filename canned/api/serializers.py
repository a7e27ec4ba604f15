from rest_framework import serializers

from portal.api import fields as portal_fields
from requests_app.models import Vendor

from ..models import CannedResponse


class CannedResponseSerializer(portal_fields.ModelSerializer):
    vendor: serializers.SlugRelatedField[Vendor] = serializers.SlugRelatedField(
        read_only=True, slug_field="slug", allow_null=True
    )

    class Meta:
        model = CannedResponse
        fields = ["id", "vendor", "title", "body", "updated_at"]
        read_only_fields = fields
