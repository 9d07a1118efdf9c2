"""The sweeps each process that serves the API runs in the background.

Expired change-feed tombstones go every ``[changes] expire_interval``
seconds, expired containers every ``[expiry] sweep_interval``. Each sweep
starts at a random point of its interval so that workers started together
do not sweep together; a sweep that finds nothing costs one query.
``cloudprefs-manage expire_changes`` and ``expire_containers`` do the
same from cron where an interval is 0.
"""

import logging
import random
import threading
import time

LOG = logging.getLogger(__name__)


def start_sweeping(driver, conf):
    """Run both sweeps, each in a daemon thread (green under eventlet),
    for the life of the process; none whose interval is 0."""
    changes = conf.changes
    retention, max_per_user = (changes.retention,
                               changes.max_tombstones_per_user)

    def drop_tombstones():
        dropped = driver.expire_tombstones(retention,
                                           max_per_user=max_per_user)
        if dropped:
            LOG.info('Dropped %d change-feed tombstones older than %d '
                     'seconds or past %d per user', dropped, retention,
                     max_per_user)

    def delete_expired_containers():
        deleted = driver.expire_containers()
        if deleted:
            LOG.info('Deleted %d expired containers', deleted)

    return [thread for thread in (
        _start('feed-expiry', changes.expire_interval, drop_tombstones),
        _start('container-expiry', conf.expiry.sweep_interval,
               delete_expired_containers)) if thread is not None]


def _start(name, interval, sweep):
    if not interval:
        return None
    thread = threading.Thread(target=_sweep_forever, name=name, daemon=True,
                              args=(name, interval, sweep))
    thread.start()
    return thread


def _sweep_forever(name, interval, sweep):
    time.sleep(random.uniform(0, interval))
    while True:
        try:
            sweep()
        except Exception:
            LOG.exception('The %s sweep failed', name)
        time.sleep(interval)
