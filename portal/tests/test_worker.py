"""gunicorn's worker hook (gunicorn.conf.py) settles the collector through portal/worker.py, as the benches do."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

from django.conf import settings

from portal.worker import GENERATION_0_THRESHOLD


def test_the_gunicorn_hook_freezes_what_is_loaded_and_collects_less_often():
    hooks = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
    saved = gc.get_threshold()
    try:
        hooks["post_worker_init"](None)
        assert gc.get_threshold() == (GENERATION_0_THRESHOLD, 20, 20)
        assert gc.get_freeze_count() > 10_000  # Django and the apps, moved out of the collector's sight
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
