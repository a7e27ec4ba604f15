"""gunicorn settings read from the working directory by every `gunicorn` we start (Dockerfile, compose,
Kubernetes, bench/loadtest.py); the command lines keep bind address and worker count."""

import gc


def post_worker_init(worker):  # gunicorn's hook signature, untyped
    # Django and its apps are loaded by now and live as long as the worker: move them out of the collector's
    # sight, and collect less often, so a full collection no longer lands in the middle of a request (it
    # was the p99 of the list endpoints; bench/RESULTS.md).
    from django.urls import get_resolver

    get_resolver().check()  # imports every URLconf and view now, so they are frozen too
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
