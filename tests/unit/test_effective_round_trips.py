"""The merged view (API 1.4) costs one database round trip, whatever the
number of layers, counted as the driver's primitive calls (each primitive
is one step in the store: one statement of the SQL drivers, one command
of MongoDB)."""

import json

import pytest
import webob

from cloudprefs import storage
from cloudprefs.storage import primitives

V14 = 'preferences 1.4'
MEMBER = {'X-User-Id': 'u', 'X-Roles': 'member', 'X-Project-Id': 'p',
          'X-Project-Domain-Id': 'd', 'OpenStack-API-Version': V14}
ADMIN = {'X-User-Id': 'admin', 'X-Roles': 'admin',
         'OpenStack-System-Scope': 'all', 'OpenStack-API-Version': V14}


def call(app, method, path, headers, value=None):
    body = b'' if value is None else json.dumps(value).encode()
    return webob.Request.blank(path, method=method, body=body,
                               headers=headers).get_response(app)


class Steps:
    """Counts the driver's primitive calls."""

    def __init__(self, driver, monkeypatch):
        self.count = 0
        for name in primitives.Primitives.__abstractmethods__ | {
                'read_meta', 'read_path', 'read_many'}:
            monkeypatch.setattr(driver, name,
                                self._counted(getattr(driver, name)))

    def _counted(self, primitive):
        def call(*args, **kwargs):
            self.count += 1
            return primitive(*args, **kwargs)
        return call


@pytest.mark.parametrize('layers', [1, 2, 3, 4])
def test_one_step_for_every_layer(conf, app, layers, monkeypatch):
    application, driver = app, storage.get_driver(conf)
    queries = ['', 'scope=project&project_id=p', 'scope=domain&domain_id=d',
               'scope=cloud'][:layers]
    for index, query in enumerate(queries):
        who = MEMBER if not query else ADMIN
        assert call(application, 'POST', '/v1/c?' + query, who,
                    {'k%d' % index: index}).status_int == 204
    steps = Steps(driver, monkeypatch)
    plain = call(application, 'GET', '/v1/c', MEMBER)
    assert plain.status_int == 200
    plain_count, steps.count = steps.count, 0
    merged = call(application, 'GET', '/v1/c?effective=true', MEMBER)
    assert merged.status_int == 200
    assert merged.json == {'k%d' % index: index for index in range(layers)}
    # The member's token reaches four layers (cloud, domain d, project p,
    # their own): one read of all four, whichever have the container.
    assert plain_count == 1
    assert steps.count == 1
