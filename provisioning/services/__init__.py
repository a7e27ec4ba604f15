"""Every write to provisioning runs, their steps and just-in-time access grants, each audited on the request's
timeline: starting and retrying (`runs`), executing step by step in Celery under a lease (`execute`, `leases`),
resuming runs whose worker died and cancelling (`control`), and just-in-time access (`grants`). Other modules
import from here.
"""

from ._shared import EXECUTE_TASK
from .control import run_cancel, run_control_check, run_resume, runs_resume_stuck
from .execute import run_execute, run_fail
from .grants import access_grant_revoke, access_grant_text, access_grants_revoke_expired
from .leases import lease_wait
from .runs import (
    grant_targets,
    run_parameters_snapshot,
    run_retry,
    run_start,
    run_start_after_approval,
    run_start_break_glass,
    run_start_check,
    run_succeeded_before,
)

__all__ = [
    "EXECUTE_TASK",
    "access_grant_revoke",
    "access_grant_text",
    "access_grants_revoke_expired",
    "grant_targets",
    "lease_wait",
    "run_cancel",
    "run_control_check",
    "run_execute",
    "run_fail",
    "run_parameters_snapshot",
    "run_resume",
    "run_retry",
    "run_start",
    "run_start_after_approval",
    "run_start_break_glass",
    "run_start_check",
    "run_succeeded_before",
    "runs_resume_stuck",
]
