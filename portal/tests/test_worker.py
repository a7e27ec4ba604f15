"""gunicorn's worker hooks (gunicorn.conf.py) run the collector through portal/worker.py, as the benches do: the
loaded app frozen out of its sight, and a collection before each request instead of in the middle of one."""

from __future__ import annotations

import gc
import logging
import runpy
import weakref
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from portal.worker import FULL_EVERY, GENERATION_0_THRESHOLD, MIDDLE_EVERY


@pytest.fixture
def hooks():
    return runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))


@pytest.fixture
def collector_off():
    """Automatic collection off, so only what the hooks collect is collected."""
    saved, enabled = gc.get_threshold(), gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
        if enabled:
            gc.enable()


def test_the_gunicorn_hook_freezes_what_is_loaded_and_collects_less_often(hooks, collector_off):
    hooks["post_worker_init"](None)
    assert gc.get_threshold() == (GENERATION_0_THRESHOLD, 20, 20)
    assert gc.get_freeze_count() > 10_000  # Django and the apps, moved out of the collector's sight


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_before_each_request_the_last_ones_cyclic_garbage_is_collected(hooks, collector_off):
    worker = SimpleNamespace(log=logging.getLogger("gunicorn.error"))
    request = SimpleNamespace(method="GET", path="/queue/")
    left_over = Cycle()
    gone = weakref.ref(left_over)
    del left_over  # unreachable, but a cycle: only the collector frees it
    assert gone() is not None
    hooks["pre_request"](worker, request)
    assert gone() is None


def test_the_older_generations_are_collected_every_hundredth_and_thousandth_request(hooks, collector_off):
    worker = SimpleNamespace(log=logging.getLogger("gunicorn.error"))
    request = SimpleNamespace(method="GET", path="/queue/")
    collected: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            collected.append(info["generation"])

    gc.callbacks.append(record)
    try:
        for _ in range(FULL_EVERY):
            hooks["pre_request"](worker, request)
    finally:
        gc.callbacks.remove(record)
    # Wherever the worker's count stood, a thousand requests hold one full collection and nine middle ones.
    assert len(collected) == FULL_EVERY
    assert Counter(collected) == {0: FULL_EVERY - FULL_EVERY // MIDDLE_EVERY, 1: FULL_EVERY // MIDDLE_EVERY - 1, 2: 1}
