"""gunicorn's settings for carevisits; gunicorn reads ./gunicorn.conf.py by itself when started
from the repository root (`gunicorn --workers 4 wsgi:app`), or pass `-c gunicorn.conf.py`.

It refuses to serve with limits that would not hold: each worker checks, once its app is
loaded, that the rate-limit storage is shared (not memory://) when there are several
workers, and that it answers. A worker that refuses exits with gunicorn's boot-error code,
which stops the master and every other worker: the server does not start at all.
"""

import sys

from gunicorn.arbiter import Arbiter


def post_worker_init(worker) -> None:
    """Stop the whole server, loudly, when the limits would not hold across its workers."""
    from carevisits.throttle import shared_storage_problem

    with worker.wsgi.app_context():
        problem = shared_storage_problem(worker.cfg.workers)
    if problem:
        worker.log.critical(problem)
        sys.exit(Arbiter.WORKER_BOOT_ERROR)
