"""oslo.middleware filters built with the service's loaded ConfigOpts.

oslo.middleware's own paste factories would read a separate configuration
(or the global one); these give them the files named by --config-file.
"""

from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id

from cloudprefs.api import deploy

# What a browser client needs for conditional requests, paging and usage.
CORS_ALLOW_HEADERS = ['Content-Type', 'X-Auth-Token', 'If-Match',
                      'If-None-Match', 'If-Modified-Since', 'X-User-Id',
                      'X-Roles', 'X-Openstack-Request-Id']
CORS_EXPOSE_HEADERS = ['ETag', 'Last-Modified', 'Link', 'X-Container-Count',
                       'X-Bytes-Used', 'X-Openstack-Request-Id',
                       'Retry-After', 'WWW-Authenticate', 'Accept-Patch']
CORS_ALLOW_METHODS = ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE']


CORS_DEFAULTS = {
    'allow_headers': CORS_ALLOW_HEADERS,
    'expose_headers': CORS_EXPOSE_HEADERS,
    'allow_methods': CORS_ALLOW_METHODS,
}


def set_lib_defaults():
    """oslo.config.opts.defaults hook: our CORS defaults in the sample."""
    cors.set_defaults(**CORS_DEFAULTS)


def cors_filter_factory(global_conf, **local_conf):
    conf = deploy.conf_from(global_conf)
    # Per-ConfigOpts defaults: cors.set_defaults would change them for
    # every user of oslo.middleware in the process.
    conf.register_opts(cors.OPTS, group='cors')
    for name, value in CORS_DEFAULTS.items():
        conf.set_default(name, value, group='cors')

    def _filter(app):
        return cors.CORS(app, conf)
    return _filter


def http_proxy_to_wsgi_filter_factory(global_conf, **local_conf):
    conf = deploy.conf_from(global_conf)

    def _filter(app):
        return http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    return _filter


def request_id_filter_factory(global_conf, **local_conf):
    def _filter(app):
        return request_id.RequestId(app)
    return _filter
