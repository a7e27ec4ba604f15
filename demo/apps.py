from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py seed_demo`: the demo world and request histories; no models of its own."""

    name = "demo"
    verbose_name = "Demo data"
