"""Rules of the /v1 calls, one per route and method."""

from oslo_policy import policy

from cloudprefs.policies import base

PREFIX = 'cloudprefs:'
LIST_CONTAINERS = PREFIX + 'containers:list'
DELETE_ALL_CONTAINERS = PREFIX + 'containers:delete_all'
GET_CONTAINER = PREFIX + 'container:get'
WRITE_CONTAINER = PREFIX + 'container:write'
DELETE_CONTAINER = PREFIX + 'container:delete'
GET_VALUE = PREFIX + 'value:get'
SET_VALUE = PREFIX + 'value:set'
DELETE_VALUE = PREFIX + 'value:delete'

_OWNER_OR_ADMIN = 'rule:' + base.OWNER_OR_ADMIN


def _rule(name, description, methods, path):
    return policy.DocumentedRuleDefault(
        name=name, check_str=_OWNER_OR_ADMIN, description=description,
        operations=[{'method': method, 'path': path}
                    for method in methods.split()])


RULES = [
    _rule(LIST_CONTAINERS, 'List the user\'s containers, with usage.',
          'GET HEAD', '/v1'),
    _rule(DELETE_ALL_CONTAINERS, 'Delete all the user\'s containers.',
          'DELETE', '/v1'),
    _rule(GET_CONTAINER, 'Read a container.', 'GET HEAD',
          '/v1/{container}'),
    _rule(WRITE_CONTAINER, 'Create a container, merge an object into it '
          '(POST), replace it (PUT) or apply a JSON merge patch to it '
          '(PATCH).', 'POST PUT PATCH',
          '/v1/{container}'),
    _rule(DELETE_CONTAINER, 'Delete a container.', 'DELETE',
          '/v1/{container}'),
    _rule(GET_VALUE, 'Read the value at a key path.', 'GET HEAD',
          '/v1/{container}/{key_path}'),
    _rule(SET_VALUE, 'Set the value at a key path (POST) or apply a JSON '
          'merge patch to it (PATCH).', 'POST PATCH',
          '/v1/{container}/{key_path}'),
    _rule(DELETE_VALUE, 'Delete the key at a key path.', 'DELETE',
          '/v1/{container}/{key_path}'),
]


def list_rules():
    return RULES
