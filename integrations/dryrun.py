"""What every dry-run twin shares: the recorder that collects their steps, and the base class they build on.

The twins themselves live beside their adapters (`integrations/<system>/dryrun.py`). An environment without a
connection uses them, so a fresh machine can demo the whole flow. Each step names the adapter method, says what
it does in plain words, and gives the HTTP method and path the real adapter calls (the tests hold the two to the
same paths) with parameters minus secrets. State is kept in memory so a repeated ensure_* answers "unchanged"
like the real thing.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from typing import Any

from integrations.errors import SYSTEM_NAMES
from integrations.results import CheckResult

DRY_RUN_HOST = "dry-run.invalid"  # .invalid never resolves, so a dry-run link cannot be mistaken for a real one


@dataclass(frozen=True)
class RecordedCall:
    """One step a dry-run twin took instead of calling the system."""

    system: str
    method: str
    description: str
    http_method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class DryRunRecorder:
    """Collects recorded steps; share one between twins to get a single ordered story."""

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []

    def as_steps(self) -> list[dict[str, Any]]:
        """JSON-friendly steps, for a provisioning run's output."""
        return [call.as_dict() for call in self.calls]


class DryRunAdapter:
    """Base of the twins: records steps into a (possibly shared) recorder and answers "test connection"."""

    system = ""

    def __init__(self, recorder: DryRunRecorder | None = None) -> None:
        self.recorder = recorder or DryRunRecorder()

    @property
    def calls(self) -> list[RecordedCall]:
        return self.recorder.calls

    def _record(self, method: str, description: str, http_method: str, path: str, /, **params: Any) -> None:
        self.recorder.calls.append(RecordedCall(self.system, method, description, http_method, path, params))

    def check(self) -> CheckResult:
        """Test connection: nothing to connect to; say so plainly."""
        name = SYSTEM_NAMES[self.system]
        return CheckResult(
            self.system,
            True,
            f"Dry run: no {name} connection is configured, so calls are recorded step by step and not sent.",
            dry_run=True,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(steps={len(self.calls)})"


def fake_id(text: str) -> int:
    """A stable made-up id, so the same name gives the same id across runs."""
    return 1000 + zlib.crc32(text.encode()) % 900_000
