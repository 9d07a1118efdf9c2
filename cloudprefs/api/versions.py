"""The version document at /, served without authentication.

keystoneauth's version discovery reads it to find /v1 from an unversioned
endpoint in the service catalog.
"""

import json

import webob.dec

from cloudprefs.api import microversion

# ``version`` is the newest microversion of v1 and ``min_version`` the
# oldest, as nova and placement give them (keystoneauth reads both).
API_VERSIONS = [
    {'id': 'v1.0', 'status': 'CURRENT', 'updated': '2026-12-07T00:00:00Z',
     'min_version': microversion.MIN_VERSION,
     'version': microversion.MAX_VERSION},
]


@webob.dec.wsgify
def versions_app(req):
    base = req.application_url.rstrip('/')
    versions = [dict(version,
                     links=[{'rel': 'self', 'href': base + '/v1/'}],
                     **{'media-types': [{'base': 'application/json',
                                         'type': 'application/json'}]})
                for version in API_VERSIONS]
    body = json.dumps({'versions': versions}).encode('utf-8')
    return webob.Response(body=body, content_type='application/json',
                          charset=None)


def app_factory(global_conf, **local_conf):
    return versions_app
