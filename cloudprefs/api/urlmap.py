"""A paste composite that mounts applications under path prefixes.

Like Paste's urlmap, without the dependency, and it also records the raw
(still percent-encoded) path below the mount point, which the /v1
application splits into names (see :mod:`cloudprefs.api.paths`).
"""

from oslo_context import context

from cloudprefs.api import errors
from cloudprefs.api import paths

# The longest request line (method, target, version and CRLF) served: what
# cloudprefs-api's server reads, so that every server refuses the same
# requests. A WSGI server with a larger buffer (the shipped uwsgi.ini)
# passes longer ones on, and they are refused here.
MAX_REQUEST_LINE = 8192
# ' ' + target + ' HTTP/1.1\r\n' around the target.
_REQUEST_LINE_FRAME = len('  HTTP/1.1\r\n')


def request_line_length(environ):
    target = environ.get('REQUEST_URI')
    if target is None:
        target = environ.get('PATH_INFO', '')
        if environ.get('QUERY_STRING'):
            target += '?' + environ['QUERY_STRING']
    return (len(environ.get('REQUEST_METHOD', '')) + len(target)
            + _REQUEST_LINE_FRAME)


class URLMap:

    def __init__(self, mounts):
        # Longest prefix first so /v1 wins over /.
        self.mounts = sorted(mounts.items(), key=lambda item: -len(item[0]))

    def __call__(self, environ, start_response):
        if request_line_length(environ) >= MAX_REQUEST_LINE:
            return self._refuse(environ, start_response, 414,
                                errors.URI_TOO_LONG,
                                'The request line is longer than %d bytes.'
                                % MAX_REQUEST_LINE)
        path_info = environ.get('PATH_INFO', '')
        for prefix, app in self.mounts:
            if prefix == '':
                if path_info in ('', '/'):
                    return app(environ, start_response)
                continue
            if path_info == prefix or path_info.startswith(prefix + '/'):
                raw_rest = self._raw_rest(environ, prefix)
                if raw_rest is not None:
                    environ[paths.RAW_PATH_KEY] = raw_rest
                environ['SCRIPT_NAME'] = environ.get('SCRIPT_NAME',
                                                     '') + prefix
                environ['PATH_INFO'] = path_info[len(prefix):]
                return app(environ, start_response)
        return self._refuse(environ, start_response, 404, errors.NOT_FOUND,
                            'No such resource.')

    @staticmethod
    def _refuse(environ, start_response, status, code, detail):
        # Outside every mounted pipeline, so no request_id filter ran.
        request_id = environ.setdefault(errors.REQUEST_ID_KEY,
                                        context.generate_request_id())
        response = errors.error_response(environ, status, code, detail)
        response.headers['X-Openstack-Request-Id'] = request_id
        return response(environ, start_response)

    @staticmethod
    def _raw_rest(environ, prefix):
        raw = paths.raw_request_path(environ)
        if raw is None:
            return None
        below_script = paths.strip_prefix(raw,
                                          environ.get('SCRIPT_NAME', ''))
        if below_script is None:
            return None
        return paths.strip_prefix(below_script, prefix)


def urlmap_factory(loader, global_conf, **local_conf):
    mounts = {}
    for path, app_name in local_conf.items():
        prefix = '/' + path.strip('/') if path.strip('/') else ''
        mounts[prefix] = loader.get_app(app_name, global_conf=global_conf)
    return URLMap(mounts)
