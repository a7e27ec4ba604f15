"""The committed state diagram matches the workflow in the code."""

from requests_app.management.commands.workflow_diagram import TARGET, document, mermaid


def test_committed_diagram_is_current():
    assert TARGET.read_text() == document(), "run `manage.py workflow_diagram` and commit the result"


def test_diagram_has_every_transition():
    text = mermaid()
    for edge in (
        "submitted --> pending_approval: triage",
        "queued --> in_progress: pick_up",
        "resolved --> closed: auto_close",
    ):
        assert edge in text
