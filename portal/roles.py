"""Moved to `requests_app.roles`. Only `requests_app.notifications` still imports the two group names from here.

Temporary, so the kernel imports no domain app meanwhile: once notifications imports them from `requests_app.roles`,
delete this module. Keep the names equal to those in `requests_app.roles` until then.
"""

PROGRAM_MANAGERS = "Program managers"
EGOV_DEVOPS = "eGov DevOps"
