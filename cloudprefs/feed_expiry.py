"""Dropping expired change-feed tombstones from inside the service.

Each process that serves the API sweeps every ``[changes]
expire_interval`` seconds, starting at a random point of the interval so
that workers started together do not sweep together; a sweep that finds
nothing costs one query. ``cloudprefs-manage expire_changes`` does the
same from cron where the interval is 0.
"""

import logging
import random
import threading
import time

LOG = logging.getLogger(__name__)


def start_sweeping(driver, changes_conf):
    """Sweep in a daemon thread (green under eventlet) for the life of
    the process; nothing when ``expire_interval`` is 0."""
    interval = changes_conf.expire_interval
    if not interval:
        return None
    thread = threading.Thread(
        target=_sweep_forever, name='feed-expiry', daemon=True,
        args=(driver, interval, changes_conf.retention,
              changes_conf.max_tombstones_per_user))
    thread.start()
    return thread


def _sweep_forever(driver, interval, retention, max_per_user):
    time.sleep(random.uniform(0, interval))
    while True:
        try:
            dropped = driver.expire_tombstones(retention,
                                               max_per_user=max_per_user)
            if dropped:
                LOG.info('Dropped %d change-feed tombstones older than %d '
                         'seconds or past %d per user', dropped, retention,
                         max_per_user)
        except Exception:
            LOG.exception('Cannot drop expired change-feed tombstones')
        time.sleep(interval)
