"""The request catalogue: every request type declared once (`types.py`) and the automation actions they offer
(`actions.py`). Provisioning executes what the catalogue plans; nothing below depends on provisioning."""

from .actions import (
    ACTIONS,
    JIT_MAX_HOURS,
    Action,
    Schema,
    StepPlan,
    parameters_clean,
    schema_description,
)
from .types import (
    TYPE_CHOICES,
    Approval,
    RequestTypeSpec,
    action_for,
    actions_for,
    needs_approval,
    parameters_validate,
    request_type_choices,
    request_type_label,
    request_type_register,
    request_type_spec,
    request_type_unregister,
    request_types,
    type_for_jira_issue,
    types_offering,
)

__all__ = [
    "ACTIONS",
    "JIT_MAX_HOURS",
    "TYPE_CHOICES",
    "Action",
    "Approval",
    "RequestTypeSpec",
    "Schema",
    "StepPlan",
    "action_for",
    "actions_for",
    "needs_approval",
    "parameters_clean",
    "parameters_validate",
    "request_type_choices",
    "request_type_label",
    "request_type_register",
    "request_type_spec",
    "request_type_unregister",
    "request_types",
    "schema_description",
    "type_for_jira_issue",
    "types_offering",
]
