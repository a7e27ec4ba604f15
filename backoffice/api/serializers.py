from rest_framework import serializers

from portal.api import fields as portal_fields
from portal.models import User

from ..models import ChangeRecord


class ChangeRecordSerializer(portal_fields.ModelSerializer):
    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        read_only=True, slug_field="username", allow_null=True
    )

    class Meta:
        model = ChangeRecord
        fields = ["id", "area", "action", "object_type", "object_id", "object_repr", "reason", "before", "after",
                  "actor", "at"]  # fmt: skip
        read_only_fields = fields
