"""Storage drivers, chosen by the scheme of ``[database] connection``.

Drivers register under the ``cloudprefs.storage`` entry-point group, one
name per URL scheme (``sqlite``, ``mongodb``...); a SQLAlchemy-style
``dialect+dbapi`` scheme is looked up by its dialect part.
"""

import importlib.metadata
import os
import threading

from cloudprefs.storage import exceptions

ENTRY_POINT_GROUP = 'cloudprefs.storage'
EMBEDDED_DATABASE_FILE = 'cloudprefs.sqlite'

_drivers = {}
_drivers_lock = threading.Lock()


class UnknownDriver(ValueError):
    """No storage driver is registered for the connection URL's scheme."""


def connection_url(conf):
    """The configured database URL, or the embedded SQLite default."""
    if conf.database.connection:
        return conf.database.connection
    path = os.path.join(os.path.abspath(conf.state_path),
                        EMBEDDED_DATABASE_FILE)
    return 'sqlite:///' + path


def driver_class(url):
    scheme = url.split(':', 1)[0].lower()
    names = [scheme, scheme.split('+', 1)[0]]
    available = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    for name in names:
        for entry_point in available.select(name=name):
            return entry_point.load()
    raise UnknownDriver('no storage driver for %r URLs (known: %s)'
                        % (scheme, ', '.join(sorted(available.names))))


def get_driver(conf):
    """Return the process's driver for the configured database.

    One driver (and so one connection pool) is kept per URL and process:
    the API, the health check and the management commands share it.
    """
    url = connection_url(conf)
    with _drivers_lock:
        driver = _drivers.get(url)
        if driver is None:
            driver = driver_class(url)(url, conf)
            _drivers[url] = driver
        return driver


def close_drivers():
    """Close every cached driver (tests, and worker processes after fork)."""
    with _drivers_lock:
        for driver in _drivers.values():
            driver.close()
        _drivers.clear()


__all__ = ['exceptions', 'get_driver', 'close_drivers', 'connection_url',
           'UnknownDriver']
