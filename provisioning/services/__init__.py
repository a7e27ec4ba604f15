"""Every write to provisioning runs, their steps and just-in-time access grants, each audited on the request's
timeline: starting and retrying (`runs`), executing step by step in Celery (`execute`), and just-in-time access
(`grants`). Other modules import from here.
"""

from ._shared import EXECUTE_TASK
from .execute import run_execute, run_fail
from .grants import access_grants_revoke_expired
from .runs import run_retry, run_start, run_start_after_approval, run_start_check

__all__ = [
    "EXECUTE_TASK",
    "access_grants_revoke_expired",
    "run_execute",
    "run_fail",
    "run_retry",
    "run_start",
    "run_start_after_approval",
    "run_start_check",
]
