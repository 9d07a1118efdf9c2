"""The outermost filter: no exception reaches the server.

An unexpected exception is logged with its traceback and the request id;
the client gets a generic JSON 500 that never includes the exception text.
"""

import logging
import sys

from cloudprefs.api import errors
from cloudprefs.service import logsafe

LOG = logging.getLogger(__name__)


class CatchErrors:

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = []

        def tracking_start_response(status, headers, exc_info=None):
            started.append(True)
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, tracking_start_response)
        except Exception:
            request_id = environ.get(errors.REQUEST_ID_KEY)
            LOG.exception('Unexpected error in request %s %s (%s)',
                          logsafe.escape(environ.get('REQUEST_METHOD')),
                          logsafe.escape(environ.get('PATH_INFO')),
                          request_id)
            response = errors.error_response(
                environ, 500, errors.INTERNAL_ERROR,
                'An unexpected error occurred; it has been logged with '
                'this request id.')
            if request_id:
                response.headers['X-Openstack-Request-Id'] = request_id
            # exc_info only when the app had started its response: the
            # server then replaces it, or aborts if it was already sent.
            start_response(response.status, response.headerlist,
                           sys.exc_info() if started else None)
            return [response.body]


def filter_factory(global_conf, **local_conf):
    return CatchErrors
