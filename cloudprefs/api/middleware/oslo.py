"""oslo.middleware filters built with the service's loaded ConfigOpts.

oslo.middleware's own paste factories would read a separate configuration
(or the global one); these give them the files named by --config-file.

Each oslo.middleware filter wraps every request in a WebOb request and
turns the answer of the application below into a WebOb response, which
costs more than the rest of a GET by path. The subclasses here keep
oslo.middleware's behaviour but pass a request straight through, as plain
WSGI, when the filter has nothing to do with it: CORS without an
``Origin`` header, proxy headers while their parsing is off. The request
id filter is plain WSGI throughout.
"""

import re

from oslo_context import context
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

    def __call__(self, environ, start_response):
        # oslo.middleware's CORS only acts on requests with an Origin and
        # on preflight (OPTIONS) requests.
        if ('HTTP_ORIGIN' in environ
                or environ.get('REQUEST_METHOD') == 'OPTIONS'):
            return super().__call__(environ, start_response)
        return self.application(environ, start_response)


class HTTPProxyToWSGI(_KnownSignature, http_proxy_to_wsgi.HTTPProxyToWSGI):

    def __call__(self, environ, start_response):
        if self._conf_get('enable_proxy_headers_parsing'):
            return super().__call__(environ, start_response)
        return self.application(environ, start_response)


_RESPONSE_HEADER = request_id.HTTP_RESP_HEADER_REQUEST_ID    # lower case
_INBOUND_ENVIRON_KEY = 'HTTP_' + request_id.INBOUND_HEADER.upper().replace(
    '-', '_')
_GLOBAL_ID_FORMAT = re.compile(request_id.ID_FORMAT)


class RequestId(request_id.RequestId):
    """oslo.middleware's RequestId as plain WSGI: the same environ keys
    (``openstack.request_id``, and ``openstack.global_request_id`` from a
    well-formed inbound X-Openstack-Request-Id) and the same response
    header, set unless the application already set it."""

    def __call__(self, environ, start_response):
        inbound = environ.get(_INBOUND_ENVIRON_KEY)
        if inbound and _GLOBAL_ID_FORMAT.match(inbound):
            environ[request_id.GLOBAL_REQ_ID] = inbound
        req_id = context.generate_request_id()
        environ[request_id.ENV_REQUEST_ID] = req_id

        def start_with_request_id(status, headers, exc_info=None):
            if not any(name.lower() == _RESPONSE_HEADER
                       for name, _value in headers):
                headers = list(headers)
                headers.append((request_id.INBOUND_HEADER, req_id))
            return start_response(status, headers, exc_info)

        return self.application(environ, start_with_request_id)


# What a browser client needs for conditional requests, paging, usage,
# watching (Prefer: wait), following the change feed (X-Cursor),
# asking for an API version (OpenStack-API-Version, as every OpenStack
# API with microversions takes it) and expiring containers (1.3).
CORS_ALLOW_HEADERS = ['Content-Type', 'X-Auth-Token', 'If-Match',
                      'If-None-Match', 'If-Modified-Since',
                      'If-Unmodified-Since', 'Prefer', 'X-User-Id',
                      'X-Roles', 'X-Openstack-Request-Id',
                      'OpenStack-API-Version', 'X-Delete-At',
                      'X-Delete-After', 'X-Remove-Delete-At']
CORS_EXPOSE_HEADERS = ['ETag', 'Last-Modified', 'Link', 'X-Container-Count',
                       'X-Bytes-Used', 'X-Container-Quota', 'X-Bytes-Quota',
                       'X-Openstack-Request-Id', 'X-Cursor', 'Retry-After',
                       'WWW-Authenticate', 'Accept-Patch',
                       'OpenStack-API-Version', 'X-Delete-At']
CORS_ALLOW_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']


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
        return RequestId(app)
    return _filter
