"""/openapi.json: the OpenAPI 3.1 description of /v1, without auth.

The document is kept in ``openapi.yaml`` beside this module and checked
against the route table by the tests.
"""

import json
import os

import webob
import webob.dec
import yaml

DOCUMENT = os.path.join(os.path.dirname(__file__), 'openapi.yaml')


def load_document():
    with open(DOCUMENT, encoding='utf-8') as document:
        return yaml.safe_load(document)


def app_factory(global_conf, **local_conf):
    body = json.dumps(load_document()).encode('utf-8')

    @webob.dec.wsgify
    def openapi_app(req):
        if req.method not in ('GET', 'HEAD'):
            return webob.Response(status=405, headers={'Allow': 'GET, HEAD'})
        return webob.Response(body=body, content_type='application/json',
                              charset=None)
    return openapi_app
