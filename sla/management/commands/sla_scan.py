from django.core.management.base import BaseCommand

from sla.services import sla_scan


class Command(BaseCommand):
    help = "Flag SLA/OLA clocks that newly became at risk or breached (the beat task does this every minute)."

    def handle(self, *args, **options) -> None:
        counts = sla_scan()
        self.stdout.write(f"breached: {counts['breached']}, at risk: {counts['at_risk']}")
