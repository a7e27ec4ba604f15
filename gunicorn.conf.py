"""gunicorn settings read from the working directory by every `gunicorn` we start (Dockerfile, compose,
Kubernetes, bench/loadtest.py); the command lines keep bind address and worker count."""


def post_worker_init(worker):  # gunicorn's hook signature, untyped
    # Django and its apps are loaded by now and live as long as the worker (portal/worker.py says why).
    from portal.worker import worker_settle

    worker_settle()


def pre_request(worker, req):
    # The previous request's frames are gone by now: its garbage is swept whole, before this request allocates.
    from portal.worker import collect_between_requests

    worker.log.debug("%s %s", req.method, req.path)  # what gunicorn's own pre_request does
    collect_between_requests()
