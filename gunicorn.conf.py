"""gunicorn settings read from the working directory by every `gunicorn` we start (Dockerfile, compose,
Kubernetes, bench/loadtest.py); the command lines keep bind address and worker count."""


def post_worker_init(worker):  # gunicorn's hook signature, untyped
    # Django and its apps are loaded by now and live as long as the worker (portal/worker.py says why).
    from portal.worker import worker_settle

    worker_settle()
