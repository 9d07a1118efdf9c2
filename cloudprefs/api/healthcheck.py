"""/healthcheck: oslo.middleware's health check, reporting the database.

The ``cloudprefs_database`` backend (registered in the
``oslo.middleware.healthcheck`` entry-point namespace) pings the storage
driver, so the check works for every driver. Operators can add
oslo.middleware's other backends (``disable_by_file``...) in the
``[healthcheck]`` section of cloudprefs.conf.
"""

from oslo_middleware import healthcheck
from oslo_middleware.healthcheck import opts as healthcheck_opts
from oslo_middleware.healthcheck import pluginbase

from cloudprefs.api import deploy
from cloudprefs import storage
from cloudprefs.storage import exceptions

BACKEND_NAME = 'cloudprefs_database'


class DatabaseHealthcheck(pluginbase.HealthcheckBaseExtension):
    """Reports unavailable when the storage driver's ping fails."""

    def __init__(self, oslo_conf, conf):
        super().__init__(oslo_conf, conf)
        self.storage = storage.get_driver(oslo_conf)

    def healthcheck(self, server_port):
        try:
            self.storage.check_health()
        except exceptions.StorageError:
            return pluginbase.HealthcheckResult(
                available=False, reason='database unavailable')
        return pluginbase.HealthcheckResult(available=True, reason='OK')


def register_opts(conf):
    conf.register_opts(healthcheck_opts.HEALTHCHECK_OPTS, group='healthcheck')
    conf.set_default('backends', [BACKEND_NAME], group='healthcheck')


def app_factory(global_conf, **local_conf):
    conf = deploy.conf_from(global_conf)
    register_opts(conf)
    return healthcheck.Healthcheck(None, conf)
