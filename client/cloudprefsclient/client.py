"""The Cloud Preferences API through a keystoneauth1 session.

::

    from keystoneauth1 import loading, session
    from cloudprefsclient import client

    prefs = client.Client(session=session.Session(auth=...))
    etag = prefs.set_value('defaults', 'passwords/root', 'secret')
    prefs.get('defaults')            # {'passwords': {'root': 'secret'}}

The endpoint is found in the service catalog by service type
``preferences`` (or given with ``endpoint_override``); keystoneauth reads
the service's version document to find the v1 API under it, whether the
catalog holds the service's root or ``.../v1``.
"""

import collections
import copy
import json
import re
import time

from keystoneauth1 import adapter
from keystoneauth1 import discover
from keystoneauth1 import exceptions as ksa_exceptions

import cloudprefsclient
from cloudprefsclient import exceptions
from cloudprefsclient import paths

SERVICE_TYPE = 'preferences'
API_VERSION = '1'
# The microversions this client knows, oldest first. Unless given one, it
# asks for the newest that both it and the service have.
API_MICROVERSIONS = ('1.0', '1.1', '1.2', '1.3', '1.4')
API_VERSION_HEADER = 'OpenStack-API-Version'
JSON_PATCH_VERSION = '1.1'
DETAILED_LISTING_VERSION = '1.2'
EXPIRY_VERSION = '1.3'
LAYERS_VERSION = '1.4'
# The layers (API 1.4) a client can be scoped to, lowest first.
SCOPES = ('cloud', 'domain', 'project', 'user')
MERGE_PATCH_TYPE = 'application/merge-patch+json'
JSON_PATCH_TYPE = 'application/json-patch+json'
# Requests whose repetition cannot change the outcome: keystoneauth may
# send them again after a connection error or a 503. POST and PATCH are
# never repeated behind the caller's back.
IDEMPOTENT_METHODS = frozenset(['GET', 'HEAD', 'PUT', 'DELETE'])
_VERSIONED_URL = re.compile(r'/v1(\.[0-9]+)?/?$')
_NO_BODY = object()     # None is a JSON value (null) to send

Usage = collections.namedtuple(
    'Usage', ['containers', 'bytes', 'container_quota', 'bytes_quota'])
Usage.__doc__ = ('A user\'s totals and limits; a quota is None when the '
                 'service sets none.')

Stat = collections.namedtuple('Stat', ['bytes', 'etag', 'last_modified',
                                       'delete_at'], defaults=[None])
Stat.__doc__ = ('What HEAD tells of a container or a value; ``delete_at``: '
                'the Unix second it expires (API 1.3), None: never.')

Detail = collections.namedtuple('Detail', ['name', 'bytes', 'etag',
                                           'last_modified', 'expires_at'],
                                defaults=[None])
Detail.__doc__ = ('A container in the detailed listing: its size, ETag '
                  '(quoted), modification time and (API 1.3) expiry time '
                  '(ISO 8601, UTC; None: never).')


class Expiry:
    """When a written container expires (API 1.3), for a write's
    ``expiry=``: ``Expiry.at(unix_seconds)``, ``Expiry.after(seconds)``
    or ``Expiry.NEVER``. A write without one keeps the container's."""

    def __init__(self, header, value):
        self.headers = {header: value}

    @classmethod
    def at(cls, unix_seconds):
        return cls('X-Delete-At', '%d' % unix_seconds)

    @classmethod
    def after(cls, seconds):
        return cls('X-Delete-After', '%d' % seconds)

    def __repr__(self):
        return 'Expiry(%r)' % self.headers


Expiry.NEVER = Expiry('X-Remove-Delete-At', '1')

Change = collections.namedtuple('Change', ['container', 'etag', 'deleted'])
Change.__doc__ = ('A container\'s latest change in the feed: its ETag '
                  '(quoted, as reads answer it; None when deleted).')

Changes = collections.namedtuple('Changes', ['changes', 'cursor', 'more'])
Changes.__doc__ = ('A page of the change feed and the cursor to ask with '
                   'next; ``more``: ask again at once.')

# Seconds a long-poll's HTTP read may take beyond the wait asked for.
LONG_POLL_SLACK = 30


def _retry_after(response):
    """Seconds of the ``Retry-After`` of an answer to a long-poll or a
    watch the service did not hold (it holds a bounded number), None when
    it was held. Only the delta-seconds form: that is what it sends."""
    value = response.headers.get('Retry-After', '')
    return int(value) if value.isdigit() else None


def _version_tuple(text):
    major, _, minor = text.partition('.')
    return int(major), int(minor)


def _known_microversion(text):
    """``text`` if this client knows that microversion; ValueError."""
    if text not in API_MICROVERSIONS:
        raise ValueError(
            'API version %r: this client knows %s; a newer version needs a '
            'newer client.' % (text, ', '.join(API_MICROVERSIONS)))
    return text


def _quoted_etag(etag):
    """``If-Match`` wants the quoted form; accept either."""
    if etag == '*' or etag.startswith('"') or etag.startswith('W/'):
        return etag
    return '"%s"' % etag


def _effective(effective):
    """The query of a read of the merged view, or of a plain one."""
    return {'effective': 'true'} if effective else {}


class Client:
    """Calls of the Cloud Preferences v1 API.

    :param session: a keystoneauth1 Session (or an Adapter).
    :param endpoint_override: the service's URL, instead of the catalog's.
    :param interface: catalog interface (``public`` by default).
    :param region_name: catalog region.
    :param connect_retries: times an idempotent request is sent again
        after a connection error (keystoneauth's own retry, with backoff).
    :param status_code_retries: times an idempotent request is sent again
        after ``503 Service Unavailable``.
    :param global_request_id: sent as ``X-OpenStack-Request-ID`` so the
        service logs this caller's request id beside its own.
    :param api_version: the microversion to ask for (``'1.1'``); by
        default the newest that both this client (``API_MICROVERSIONS``)
        and the service (its version document) have. Sent with every
        request as ``OpenStack-API-Version``.

    Every call takes ``user_id=`` to act on another user's data (the
    API's ``?user_id=``, allowed to administrators by policy);
    :meth:`scoped` gives a client of a project's, a domain's or the
    cloud's shared layer (API 1.4). Writes take
    ``if_match=`` (an ETag from an earlier answer, quoted or not, or
    ``'*'``) and ``expiry=`` (an :class:`Expiry`, API 1.3), and return the
    container's ETag after the write. Errors raise
    :mod:`cloudprefsclient.exceptions`.
    """

    def __init__(self, session, endpoint_override=None, interface=None,
                 region_name=None, service_type=SERVICE_TYPE,
                 connect_retries=3, status_code_retries=2,
                 global_request_id=None, api_version=None,
                 **adapter_options):
        self._api_version = (None if api_version is None
                             else _known_microversion(api_version))
        self._connect_retries = connect_retries
        self._status_code_retries = status_code_retries
        self.last_request_id = None
        self.last_cursor = None
        self._adapter = adapter.Adapter(
            session=session, service_type=service_type,
            interface=interface, region_name=region_name,
            endpoint_override=endpoint_override, version=API_VERSION,
            client_name='python-cloudprefsclient',
            client_version=cloudprefsclient.__version__,
            global_request_id=global_request_id, **adapter_options)
        self._endpoint = None
        # The layer every call acts on (API 1.4): ?scope= and its id.
        self._scope_query = {}
        # Replaced by tests; a long-poll waits on these.
        self._clock = time.monotonic
        self._sleep = time.sleep

    # The HTTP exchange ---------------------------------------------------

    @property
    def endpoint(self):
        """The versioned API endpoint (``.../v1/``), found once.

        From the catalog keystoneauth discovers it itself; an
        ``endpoint_override`` that names the service's root is resolved
        here from the version document it serves.
        """
        if self._endpoint is None:
            found = self._adapter.get_endpoint()
            if found and not _VERSIONED_URL.search(found):
                found = discover.get_discovery(
                    self._adapter.session, found).url_for(API_VERSION)
            if not found:
                raise ksa_exceptions.EndpointNotFound(
                    'No v%s endpoint of service type %r'
                    % (API_VERSION, self._adapter.service_type))
            self._endpoint = found.rstrip('/') + '/'
        return self._endpoint

    @property
    def api_version(self):
        """The microversion this client asks for (found once)."""
        if self._api_version is None:
            self._api_version = self._negotiate()
        return self._api_version

    def _negotiate(self):
        """The newest microversion of v1 this client and the service
        both have, from the service's version document (a service without
        microversions has 1.0 only)."""
        root = _VERSIONED_URL.sub('/', self.endpoint)
        try:
            versions = discover.get_discovery(
                self._adapter.session, root).version_data()
        except ksa_exceptions.DiscoveryFailure:
            return API_MICROVERSIONS[0]
        newest = (1, 0)
        for version in versions:
            if version['version'][0] == 1 and version.get(
                    'max_microversion'):
                newest = tuple(version['max_microversion'])
        known = [text for text in API_MICROVERSIONS
                 if _version_tuple(text) <= newest]
        return known[-1] if known else API_MICROVERSIONS[0]

    def has_api_version(self, version):
        """Whether the calls of microversion ``version`` are available."""
        return _version_tuple(self.api_version) >= _version_tuple(version)

    def scoped(self, scope, project_id=None, domain_id=None):
        """A client whose every call acts on a shared layer (API 1.4):
        ``scope`` is ``'project'`` (the token's project, or
        ``project_id``), ``'domain'`` (the token's domain, or
        ``domain_id``), ``'cloud'``, or ``'user'`` (one's own, as this
        client). Naming another project or domain is for
        administrators."""
        if scope not in SCOPES:
            raise ValueError('scope must be one of %s' % ', '.join(SCOPES))
        if project_id is not None and scope != 'project':
            raise ValueError('project_id goes with scope="project"')
        if domain_id is not None and scope != 'domain':
            raise ValueError('domain_id goes with scope="domain"')
        layered = copy.copy(self)
        layered._scope_query = {}
        if scope != 'user':
            layered._scope_query['scope'] = scope
        if project_id is not None:
            layered._scope_query['project_id'] = project_id
        if domain_id is not None:
            layered._scope_query['domain_id'] = domain_id
        return layered

    def _require(self, version, feature):
        if not self.has_api_version(version):
            raise exceptions.VersionNotAvailable(
                '%s needs API version %s; this client uses %s (the service '
                'or --os-preference-api-version allows no more).'
                % (feature, version, self.api_version))

    def _request(self, method, relative_url, user_id=None, params=None,
                 body=_NO_BODY, content_type='application/json',
                 if_match=None, if_none_match=None, headers=None,
                 timeout=None):
        query = dict(params or {})
        if self._scope_query:
            self._require(LAYERS_VERSION, 'Shared layers')
            query.update(self._scope_query)
        if query.get('effective'):
            self._require(LAYERS_VERSION, 'The merged view of the layers')
        if user_id is not None:
            query['user_id'] = user_id
        headers = dict(headers or {}, Accept='application/json')
        headers[API_VERSION_HEADER] = '%s %s' % (SERVICE_TYPE,
                                                 self.api_version)
        data = None
        if body is not _NO_BODY:
            data = json.dumps(body, ensure_ascii=False,
                              allow_nan=False).encode('utf-8')
            headers['Content-Type'] = content_type
        if if_match is not None:
            headers['If-Match'] = _quoted_etag(if_match)
        if if_none_match is not None:
            headers['If-None-Match'] = if_none_match
        retries = {'connect_retries': 0, 'status_code_retries': 0}
        if method in IDEMPOTENT_METHODS:
            retries = {'connect_retries': self._connect_retries,
                       'status_code_retries': self._status_code_retries,
                       'retriable_status_codes': [503]}
        if timeout is not None:
            retries['timeout'] = timeout
        response = self._adapter.request(
            self.endpoint + relative_url.lstrip('/'), method,
            params=query, data=data, headers=headers, raise_exc=False,
            **retries)
        self.last_request_id = response.headers.get('X-Openstack-Request-Id')
        self.last_cursor = response.headers.get('X-Cursor',
                                                self.last_cursor)
        if response.status_code >= 400:
            raise exceptions.from_response(response)
        return response

    def _write(self, method, container, path, body, user_id, if_match,
               content_type='application/json', if_none_match=None,
               expiry=None):
        headers = None
        if expiry is not None:
            self._require(EXPIRY_VERSION, 'Expiring containers')
            headers = expiry.headers
        response = self._request(method, paths.url(container, path),
                                 user_id=user_id, body=body,
                                 content_type=content_type,
                                 if_match=if_match,
                                 if_none_match=if_none_match,
                                 headers=headers)
        return response.headers.get('ETag')

    # Reads ---------------------------------------------------------------

    def list(self, prefix=None, marker=None, limit=None, page_size=None,
             user_id=None, effective=False):
        """Yield the user's container names in code-point order, reading
        page after page (of ``page_size``, the service's page by default)
        until ``limit`` names or the end; ``effective``: the names of
        every layer the caller reads (API 1.4)."""
        return self._listing(_effective(effective), lambda name: name,
                             prefix, marker, limit, page_size, user_id)

    def list_details(self, prefix=None, marker=None, limit=None,
                     page_size=None, user_id=None):
        """As :meth:`list`, a :class:`Detail` of each container (API 1.2;
        one request a page, where 1.0 needs one per container)."""
        self._require(DETAILED_LISTING_VERSION, 'The detailed listing')
        items = self._listing({'detail': 'true'}, lambda item: item['name'],
                              prefix, marker, limit, page_size, user_id)
        return (Detail(item['name'], item['bytes'], item['etag'],
                       item['last_modified'], item.get('expires_at'))
                for item in items)

    def _listing(self, query, name_of, prefix, marker, limit, page_size,
                 user_id):
        remaining = limit
        while remaining is None or remaining > 0:
            params = dict(query)
            if prefix:
                params['prefix'] = prefix
            if marker is not None:
                params['marker'] = marker
            want = page_size
            if remaining is not None:
                want = min(remaining, page_size or remaining)
            if want:
                params['limit'] = want
            response = self._request('GET', '', user_id=user_id,
                                     params=params)
            items = response.json()
            for item in items:
                yield item
            if remaining is not None:
                remaining -= len(items)
            if not items or 'next' not in response.links:
                return
            marker = name_of(items[-1])

    def get(self, container, path=None, user_id=None, effective=False):
        """The value of a container, or at a key path inside it;
        ``effective``: as the caller's layers merge (cloud, domain,
        project, user; API 1.4)."""
        return self.get_with_etag(container, path, user_id, effective)[0]

    def get_with_etag(self, container, path=None, user_id=None,
                      effective=False):
        """``(value, etag)``: the value and its container's ETag, for a
        later conditional write (of the merged view, with
        ``effective``: for :meth:`watch`)."""
        response = self._request('GET', paths.url(container, path),
                                 user_id=user_id,
                                 params=_effective(effective))
        return response.json(), response.headers.get('ETag')

    def stat(self, container, path=None, user_id=None):
        """Size in bytes (compact JSON), ETag and Last-Modified of a
        container or value, without reading it."""
        response = self._request('HEAD', paths.url(container, path),
                                 user_id=user_id)
        length = response.headers.get('Content-Length')
        delete_at = response.headers.get('X-Delete-At')
        return Stat(int(length) if length is not None else None,
                    response.headers.get('ETag'),
                    response.headers.get('Last-Modified'),
                    int(delete_at) if delete_at else None)

    def usage(self, user_id=None):
        """The user's container count and bytes, and the quotas."""
        headers = self._request('HEAD', '', user_id=user_id,
                                params={'limit': 1}).headers

        def number(name):
            value = headers.get(name)
            return int(value) if value is not None else None

        return Usage(number('X-Container-Count'), number('X-Bytes-Used'),
                     number('X-Container-Quota'), number('X-Bytes-Quota'))

    # The change feed -----------------------------------------------------

    def cursor(self, user_id=None):
        """The user's change-feed cursor now: follow the feed from it to
        see every change made after this call."""
        return self._request('HEAD', '', user_id=user_id,
                             params={'limit': 1}).headers['X-Cursor']

    def changes(self, since='0', limit=None, wait=None, user_id=None):
        """The containers changed after the cursor ``since`` ('0': from
        the beginning), each once at its latest change, as a
        :class:`Changes` page. With ``wait`` (seconds), the service holds
        the request until a change comes or the wait runs out (then the
        page is empty and the cursor the same); when the service answers
        at once with ``Retry-After`` (it holds a bounded number of
        requests), this asks again after that many seconds, within the
        wait. Raises CursorExpired when the cursor is too old: read
        everything again."""
        params = {'since': since}
        if limit is not None:
            params['limit'] = limit
        deadline = None if wait is None else self._clock() + wait
        while True:
            timeout = None
            if wait is not None:
                params['wait'] = wait
                timeout = wait + LONG_POLL_SLACK
            response = self._request('GET', '', user_id=user_id,
                                     params=params, timeout=timeout)
            page = response.json()
            retry_after = _retry_after(response)
            if page['changes'] or wait is None or retry_after is None:
                break
            # Not held (the service's places were taken): ask again when
            # it says, within the wait asked for, rather than at once.
            wait = self._wait_to_retry(deadline, retry_after)
            if wait is None:
                break
        return Changes([Change(change['container'],
                               None if change['deleted']
                               else '"%s"' % change['revision'],
                               change['deleted'])
                        for change in page['changes']],
                       page['cursor'], page['more'])

    def _wait_to_retry(self, deadline, retry_after):
        """Sleep ``retry_after`` seconds, or what is left until
        ``deadline``; the seconds then left to wait, None when none."""
        self._sleep(max(0, min(retry_after, deadline - self._clock())))
        left = int(deadline - self._clock())
        return left if left >= 1 else None

    def follow(self, since='0', wait=55, user_id=None):
        """Yield every change after ``since``, for ever: page after page,
        long-polling when there is nothing new. The cursor after each
        yielded change is ``self.last_cursor`` once its page is done."""
        cursor = since
        while True:
            page = self.changes(since=cursor, wait=wait, user_id=user_id)
            for change in page.changes:
                yield change
            cursor = page.cursor

    def watch(self, container, etag, path=None, wait=55, user_id=None,
              effective=False):
        """Wait up to ``wait`` seconds for the container (or the value at
        ``path``) to leave the revision ``etag``: ``(value, etag)`` once
        it has, None when the wait ran out (a watch the service would not
        hold is asked again after its ``Retry-After``, within the wait).
        Raises NotFound if it was deleted. ``effective``: watch the
        merged view of the layers (API 1.4), with its ETag."""
        deadline = self._clock() + wait
        while True:
            response = self._request(
                'GET', paths.url(container, path), user_id=user_id,
                params=_effective(effective),
                if_none_match=_quoted_etag(etag),
                headers={'Prefer': 'wait=%d' % wait},
                timeout=wait + LONG_POLL_SLACK)
            if response.status_code != 304:
                return response.json(), response.headers.get('ETag')
            retry_after = _retry_after(response)
            if retry_after is None:
                return None
            # Answered without waiting: watch again when the service says.
            wait = self._wait_to_retry(deadline, retry_after)
            if wait is None:
                return None

    # Writes --------------------------------------------------------------

    def create(self, container, user_id=None, if_not_exists=False,
               expiry=None):
        """Make sure the container exists (an empty one if new); with
        ``if_not_exists``, fail with PreconditionFailed if it does."""
        return self._write('POST', container, None, _NO_BODY, user_id,
                           None,
                           if_none_match='*' if if_not_exists else None,
                           expiry=expiry)

    def merge(self, container, obj, user_id=None, if_match=None,
              expiry=None):
        """Create the container if needed and replace ``obj``'s top-level
        keys in it."""
        return self._write('POST', container, None, obj, user_id, if_match,
                           expiry=expiry)

    def replace(self, container, obj, user_id=None, if_match=None,
                if_not_exists=False, expiry=None):
        """Make the container exactly ``obj`` (an object)."""
        return self._write('PUT', container, None, obj, user_id, if_match,
                           if_none_match='*' if if_not_exists else None,
                           expiry=expiry)

    def set_value(self, container, path, value, user_id=None,
                  if_match=None, expiry=None):
        """Set ``value`` (any JSON) at the key path, creating the
        container and missing objects on the way."""
        if not paths.split(path):
            raise ValueError('set_value needs a key path; use replace() '
                             'for a whole container.')
        return self._write('POST', container, path, value, user_id,
                           if_match, expiry=expiry)

    def merge_patch(self, container, patch, path=None, user_id=None,
                    if_match=None, expiry=None):
        """Apply an RFC 7396 merge patch (``None`` deletes a key) to the
        container or to the value at ``path``."""
        return self._write('PATCH', container, path, patch, user_id,
                           if_match, content_type=MERGE_PATCH_TYPE,
                           expiry=expiry)

    def json_patch(self, container, operations, user_id=None,
                   if_match=None, expiry=None):
        """Apply an RFC 6902 JSON Patch (a list of operations such as
        ``{'op': 'replace', 'path': '/theme/dark', 'value': True}``) to
        the container, all or nothing (API 1.1). Raises Conflict (code
        ``cloudprefs.patch_conflict``) when a ``test`` fails or a location
        does not exist; nothing is stored then."""
        self._require(JSON_PATCH_VERSION, 'JSON Patch')
        return self._write('PATCH', container, None, operations, user_id,
                           if_match, content_type=JSON_PATCH_TYPE,
                           expiry=expiry)

    def delete(self, container, path=None, user_id=None, if_match=None):
        """Delete a container, or the key at ``path`` in it. Deleting
        what does not exist is not an error. Returns the container's
        ETag after deleting a key (None after deleting a container)."""
        return self._write('DELETE', container, path, _NO_BODY, user_id,
                           if_match)

    def delete_all(self, user_id=None):
        """Delete every container of the user (an administrator's purge
        with ``user_id``)."""
        self._request('DELETE', '', user_id=user_id)
