from django.contrib import admin

from .models import SavedView


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "list_name", "sharing", "is_default"]
    list_filter = ["list_name", "sharing"]
    raw_id_fields = ["owner"]
