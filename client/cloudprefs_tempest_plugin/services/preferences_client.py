"""A tempest REST client of the v1 API: one method per call. Reads return
``(response, value)``, writes the response (its headers hold the ETag)."""

import json
import urllib.parse

from tempest.lib.common import rest_client

MERGE_PATCH_TYPE = 'application/merge-patch+json'
JSON_PATCH_TYPE = 'application/json-patch+json'
API_VERSION_HEADER = 'OpenStack-API-Version'
NO_BODY = object()      # None is a JSON value (null) to send


def _url(container=None, path=None, user_id=None, **query):
    url = ''
    if container is not None:
        keys = [container] + list(path or [])
        url = '/'.join(urllib.parse.quote(key, safe='') for key in keys)
    if user_id is not None:
        query['user_id'] = user_id
    if query:
        url += '?' + urllib.parse.urlencode(query)
    return url


class PreferencesClient(rest_client.RestClient):

    api_version = 'v1'

    def _headers(self, if_match=None, if_none_match=None,
                 content_type='application/json', microversion=None,
                 extra=None):
        headers = dict(extra or {}, **{'Content-Type': content_type,
                                       'Accept': 'application/json'})
        if microversion:
            headers[API_VERSION_HEADER] = 'preferences ' + microversion
        if if_match:
            headers['If-Match'] = if_match
        if if_none_match:
            headers['If-None-Match'] = if_none_match
        return headers

    def _read(self, url, microversion=None):
        headers = None
        if microversion:
            headers = self._headers(microversion=microversion)
        resp, body = self.get(url, headers=headers)
        self.expected_success(200, resp.status)
        return resp, json.loads(body)

    def list_containers(self, microversion=None, **query):
        """``(response, names)`` of GET /v1."""
        return self._read(_url(**query), microversion)

    def list_details(self, microversion='1.2', **query):
        """``(response, details)`` of GET /v1?detail=true (API 1.2)."""
        return self._read(_url(detail='true', **query), microversion)

    def usage(self, user_id=None):
        resp, body = self.head(_url(user_id=user_id))
        self.expected_success(200, resp.status)
        return resp

    def read(self, container, path=None, user_id=None, microversion=None,
             **query):
        """``(response, value)`` of a container or a value; ``query``:
        more parameters (``scope='project'``, ``effective='true'``: API
        1.4, with ``microversion='1.4'``)."""
        return self._read(_url(container, path, user_id, **query),
                          microversion)

    def _write(self, method, url, value, expected=204, **headers):
        body = None if value is NO_BODY else json.dumps(value)
        resp, body = self.request(method, url,
                                  headers=self._headers(**headers),
                                  body=body)
        self.expected_success(expected, resp.status)
        return resp

    def create_or_merge(self, container, value=NO_BODY, user_id=None,
                        query=None, **conditions):
        return self._write('POST', _url(container, user_id=user_id,
                                        **(query or {})), value,
                           **conditions)

    def replace(self, container, value, user_id=None, **conditions):
        return self._write('PUT', _url(container, user_id=user_id), value,
                           **conditions)

    def set_value(self, container, path, value, user_id=None,
                  **conditions):
        return self._write('POST', _url(container, path, user_id), value,
                           **conditions)

    def merge_patch(self, container, patch, path=None, user_id=None,
                    **conditions):
        return self._write('PATCH', _url(container, path, user_id), patch,
                           content_type=MERGE_PATCH_TYPE, **conditions)

    def json_patch(self, container, operations, user_id=None,
                   microversion='1.1', **conditions):
        """PATCH with an RFC 6902 JSON Patch (API 1.1)."""
        return self._write('PATCH', _url(container, user_id=user_id),
                           operations, content_type=JSON_PATCH_TYPE,
                           microversion=microversion, **conditions)

    def stat_container(self, container, microversion=None):
        """The response to HEAD of a container."""
        resp, _ = self.request('HEAD', _url(container), headers=self._headers(
            microversion=microversion))
        self.expected_success(200, resp.status)
        return resp

    def read_versions(self):
        """``(response, document)`` of the version document at the
        service's root."""
        resp, body = self.raw_request(self.base_url.rstrip('/').rsplit(
            '/v1', 1)[0] + '/', 'GET')
        self.expected_success(200, resp.status)
        return resp, json.loads(body)

    def delete_container(self, container, user_id=None, query=None,
                         **conditions):
        return self._write('DELETE', _url(container, user_id=user_id,
                                          **(query or {})),
                           NO_BODY, **conditions)

    def delete_value(self, container, path, user_id=None, **conditions):
        return self._write('DELETE', _url(container, path, user_id),
                           NO_BODY, **conditions)

    def delete_all(self, user_id=None):
        return self._write('DELETE', _url(user_id=user_id), NO_BODY)

    def send_raw(self, method, container, raw_body):
        """A request with a body given as bytes (for the limit tests)."""
        resp, body = self.request(method, _url(container),
                                  headers=self._headers(),
                                  body=raw_body)
        return resp
