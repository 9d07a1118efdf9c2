"""Handlers for the user's containers and the values inside them.

Each handler names its policy rule, reads the request, validates its
body, calls the storage driver and answers. The policy check and the
mapping of storage exceptions to HTTP happen once, in
:mod:`cloudprefs.api.app`.
"""

import json

import webob

from cloudprefs.api import body
from cloudprefs.api import errors
from cloudprefs.policies import containers as rules


def policy_rule(name):
    """Name the policy rule the application checks before the handler."""
    def decorate(handler):
        handler.policy_rule = name
        return handler
    return decorate


def _json_response(value):
    text = json.dumps(value, ensure_ascii=False, separators=(',', ':'))
    return webob.Response(status=200, body=text.encode('utf-8'),
                          content_type='application/json', charset=None)


def _no_content():
    return webob.Response(status=204)


_NO_BODY = object()


def _read_json(req, required):
    """The parsed body; ``_NO_BODY`` when it is empty and not required."""
    raw = body.read_body(req, req.limits.max_request_body_size)
    if not raw.strip():
        if required:
            raise errors.APIError(400, errors.EMPTY_BODY,
                                  'This request needs a JSON body.')
        return _NO_BODY
    return body.parse(raw)


# /v1 -----------------------------------------------------------------------

@policy_rule(rules.LIST_CONTAINERS)
def list_containers(req):
    return _json_response(req.storage.list_containers(req.owner_id))


@policy_rule(rules.DELETE_ALL_CONTAINERS)
def delete_all_containers(req):
    req.storage.delete_user(req.owner_id)
    return _no_content()


# /v1/{container} -------------------------------------------------------------

@policy_rule(rules.GET_CONTAINER)
def get_container(req, container):
    return _json_response(
        req.storage.get_container(req.owner_id, container).value)


@policy_rule(rules.WRITE_CONTAINER)
def create_or_merge_container(req, container):
    value = _read_json(req, required=False)
    if value is _NO_BODY:
        value = {}
    elif not isinstance(value, dict):
        raise errors.APIError(
            400, errors.NOT_AN_OBJECT,
            'A container body must be a JSON object; to store another '
            'value, POST it to a key path below the container.')
    body.check_depth(0, value, req.limits.max_depth)
    req.storage.merge(req.owner_id, container, value)
    return _no_content()


@policy_rule(rules.DELETE_CONTAINER)
def delete_container(req, container):
    req.storage.delete_container(req.owner_id, container)
    return _no_content()


# /v1/{container}/{key path} ----------------------------------------------------

@policy_rule(rules.GET_VALUE)
def get_value(req, container, key_path):
    value, _container = req.storage.get_value(req.owner_id, container,
                                              key_path)
    return _json_response(value)


@policy_rule(rules.SET_VALUE)
def set_value(req, container, key_path):
    value = _read_json(req, required=True)
    body.check_depth(len(key_path), value, req.limits.max_depth)
    req.storage.set_value(req.owner_id, container, key_path, value)
    return _no_content()


@policy_rule(rules.DELETE_VALUE)
def delete_value(req, container, key_path):
    req.storage.delete_value(req.owner_id, container, key_path)
    return _no_content()
