"""The /v1 WSGI application: route table → handler → storage driver."""

import functools
import logging

from cloudprefs.api import deploy
from cloudprefs.api import errors
from cloudprefs.api import microversion
from cloudprefs.api import paths
from cloudprefs.api import request as api_request
from cloudprefs.api import routes
from cloudprefs.api import scope
from cloudprefs.api import storage_errors
from cloudprefs.api import sweeps
from cloudprefs.api import waiting
from cloudprefs import notifications
from cloudprefs.policies import enforcer
from cloudprefs import storage
from cloudprefs.storage import exceptions

LOG = logging.getLogger(__name__)


class V1Application:
    """Dispatches /v1 requests through the route table."""

    def __init__(self, conf, storage_driver, authorizer):
        self.limits = conf.api
        self.changes_conf = conf.changes
        self._conf = conf
        self.retry_after = str(conf.api.retry_after)
        self.storage = storage_driver
        self.authorizer = authorizer
        self.feed_waiters = waiting.FeedWaiters(
            storage_driver, conf.changes.poll_interval,
            max_held=conf.changes.max_waiting_per_worker or 0,
            max_held_per_user=conf.changes.max_waiting_per_user)
        # The driver of a URL is shared by every application a process
        # loads: the newest application's waiters hear its changes.
        storage_driver.add_change_listener(
            self.feed_waiters.storage_changed, name='feed_waiters')
        self.mapper = routes.make_map()
        self._sweeping = False
        # A match depends on the path only; clients repeat their paths.
        self._routematch = functools.lru_cache(maxsize=4096)(
            self.mapper.routematch)

    def __call__(self, environ, start_response):
        # Plain WSGI around a WebOb request: webob.dec.wsgify would copy
        # itself and inspect the answer on every call.
        environ[api_request.APP_KEY] = self
        if not self._sweeping:
            # In the process that serves: after a fork, not in a master.
            self._sweeping = True
            sweeps.start_sweeping(self.storage, self._conf)
        response = self._respond(api_request.Request(environ))
        return response(environ, start_response)

    def _respond(self, req):
        try:
            version = microversion.requested(req.environ)
        except errors.APIError as error:
            return errors.response_for(req.environ, error)
        req.environ[api_request.API_VERSION_KEY] = version
        response = self._respond_as(req)
        microversion.add_headers(response, version)
        return response

    def _respond_as(self, req):
        try:
            if api_request.CONTEXT_KEY not in req.environ:
                raise errors.APIError(401, errors.UNAUTHENTICATED,
                                      'The request carries no identity.')
            handler, kwargs = self._route(req)
            self._authorize(req, handler.policy_rule)
            response = handler(req, **kwargs)
            if req.method == 'HEAD':
                _drop_body(response)
            return response
        except errors.APIError as error:
            return errors.response_for(req.environ, error)
        except exceptions.StorageError as error:
            return self._storage_error_response(req, error)

    def _route(self, req):
        raw_path = paths.normalize(paths.raw_path_info(req.environ))
        match = self._routematch(raw_path)
        if match is None:
            raise errors.APIError(404, errors.NOT_FOUND,
                                  'No such resource.')
        route_args, route = match
        methods = routes.ROUTE_DECLARATIONS[route.routepath]
        handler = methods.get('GET' if req.method == 'HEAD' else req.method)
        if handler is None:
            allowed = ', '.join(routes.allowed_methods(methods))
            raise errors.APIError(
                405, errors.METHOD_NOT_ALLOWED,
                'Method %s is not allowed here; allowed: %s.'
                % (req.method, allowed),
                headers={'Allow': allowed})
        kwargs = {}
        if 'container' in route_args:
            kwargs['container'] = paths.decode_segment(
                route_args['container'])
        if 'key_path' in route_args:
            kwargs['key_path'] = paths.decode_key_path(
                route_args['key_path'])
        return handler, kwargs

    def _authorize(self, req, rule):
        """Check the policy of what the request acts on (the caller's
        data, another user's, a shared layer); set ``req.owner_id``."""
        owner, rule, target = scope.requested_owner(req, rule)
        if not self.authorizer.authorize(rule, target, req.context):
            raise scope.forbidden(rule, owner, req.context)
        req.environ[api_request.OWNER_KEY] = owner.key
        req.environ[api_request.LAYER_KEY] = owner

    def _storage_error_response(self, req, error):
        environ = req.environ
        refused = storage_errors.refusal(error)
        if refused is not None:
            return errors.response_for(environ, refused)
        # BackendUnavailable, BackendError: the cause may name hosts or
        # credentials, so it goes to the log only.
        LOG.warning('Database error for request %s: %r',
                    environ.get(errors.REQUEST_ID_KEY), error.__cause__
                    or error)
        return errors.error_response(
            environ, 503, errors.BACKEND_UNAVAILABLE,
            'The database is unavailable; retry later.',
            headers={'Retry-After': self.retry_after})


def _drop_body(response):
    """HEAD: the GET response's status and headers, without its body."""
    length = response.content_length
    response.body = b''
    if length is not None:
        response.content_length = length


def app_factory(global_conf, **local_conf):
    """paste.deploy factory of the /v1 application."""
    conf = deploy.conf_from(global_conf)
    driver = storage.get_driver(conf)
    driver.prepare()
    driver.add_change_listener(
        notifications.Notifications(
            conf, relay=conf.notifications.relay).storage_changed,
        name='notifications')
    return V1Application(conf, driver,
                         enforcer.Authorizer(enforcer.make_enforcer(conf)))
