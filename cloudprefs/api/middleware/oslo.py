"""oslo.middleware filters built with the service's loaded ConfigOpts.

oslo.middleware's own paste factories would read a separate configuration
(or the global one); these give them the files named by --config-file.
"""

from oslo_middleware import base
from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
import webob.dec

from cloudprefs.api import deploy


class _KnownSignature:
    """ConfigurableMiddleware.__call__ without its per-request
    ``getfullargspec`` of process_response: both filters below take the
    request, so it is passed directly. Everything else is unchanged."""

    @webob.dec.wsgify(RequestClass=base.NoContentTypeRequest)
    def __call__(self, req):
        response = self.process_request(req)
        if response:
            return response
        response = req.get_response(self.application)
        return self.process_response(response, request=req)


class CORS(_KnownSignature, cors.CORS):
    pass


class HTTPProxyToWSGI(_KnownSignature, http_proxy_to_wsgi.HTTPProxyToWSGI):
    pass


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
        return CORS(app, conf)
    return _filter


def http_proxy_to_wsgi_filter_factory(global_conf, **local_conf):
    conf = deploy.conf_from(global_conf)

    def _filter(app):
        return HTTPProxyToWSGI(app, conf)
    return _filter


def request_id_filter_factory(global_conf, **local_conf):
    def _filter(app):
        return request_id.RequestId(app)
    return _filter
