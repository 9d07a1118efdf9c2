"""The OpenAPI document and the route table describe the same API."""

import webob

from cloudprefs.api import microversion
from cloudprefs.api import openapi
from cloudprefs.api import routes

HTTP_METHODS = {'get', 'head', 'post', 'put', 'patch', 'delete', 'options',
                'trace'}


def documented_operations():
    document = openapi.load_document()
    assert document['openapi'].startswith('3.1')
    operations = set()
    for path, item in document['paths'].items():
        for method in set(item) & HTTP_METHODS:
            operations.add((path, method.upper()))
    return operations


def routed_operations():
    operations = set()
    for template, methods in routes.ROUTE_DECLARATIONS.items():
        path = '/v1' + template.replace('*key_path', '{key_path}')
        path = path.rstrip('/') or '/v1'
        for method in routes.allowed_methods(methods):
            operations.add((path, method))
    return operations


def test_document_and_routes_agree():
    assert documented_operations() == routed_operations()


def test_every_operation_documents_its_errors():
    document = openapi.load_document()
    for path, item in document['paths'].items():
        for method in set(item) & HTTP_METHODS:
            responses = item[method]['responses']
            assert {'400', '401', '403', '503'} <= set(responses), (
                path, method)
            if method in ('post', 'patch'):
                assert {'409', '412', '413'} <= set(responses)
            if method == 'patch':
                assert '415' in responses


def test_every_operation_takes_a_microversion():
    document = openapi.load_document()
    assert document['info']['version'] == microversion.MAX_VERSION
    assert document['components']['parameters']['ApiVersion']['schema'][
        'enum'] == ['preferences ' + version for version in
                    microversion.VERSIONS + ('latest',)]
    for path, item in document['paths'].items():
        assert {'$ref': '#/components/parameters/ApiVersion'} in \
            item['parameters'], path
        for method in set(item) & HTTP_METHODS:
            assert '406' in item[method]['responses'], (path, method)


def test_served_as_json():
    app = openapi.app_factory({})
    response = webob.Request.blank('/openapi.json').get_response(app)
    assert response.status_int == 200
    assert response.content_type == 'application/json'
    assert response.json == openapi.load_document()
    response = webob.Request.blank('/openapi.json',
                                   method='POST').get_response(app)
    assert response.status_int == 405
