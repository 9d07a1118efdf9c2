"""Model-based test of the path semantics, on every backend: any sequence
of writes and deletes through the API leaves the same data as the same
operations on plain Python dicts.

The model below is written independently of cloudprefs' own code (a
second implementation of the README's rules). Hypothesis drives a state
machine; CLOUDPREFS_PROPERTY_EXAMPLES sets how many sequences run
(default 15, each up to 25 steps).
"""

import copy
import json
import os
import urllib.parse
import uuid

import hypothesis
from hypothesis import stateful
from hypothesis import strategies as st
import requests


EXAMPLES = int(os.environ.get('CLOUDPREFS_PROPERTY_EXAMPLES', '15'))

# Few names so that operations meet each other's data.
CONTAINERS = ['c', 'd', '.e', '$f', 'g/h']
SEGMENTS = ['a', 'b', 'a.b', '$x', 'é', 'k/l', '..a']
KEYS = SEGMENTS + ['', '.', '\x00']
SCALARS = (st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 63 - 1)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=5))
VALUES = st.recursive(
    SCALARS,
    lambda children: (st.lists(children, max_size=3)
                      | st.dictionaries(st.sampled_from(KEYS), children,
                                        max_size=3)),
    max_leaves=6)
OBJECTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3)
PATHS = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3)


NO_BODY = object()


class Conflict(Exception):
    pass


def model_set(root, path, value):
    node = root
    for segment in path[:-1]:
        if segment not in node:
            node[segment] = {}
        elif not isinstance(node[segment], dict):
            raise Conflict()
        node = node[segment]
    node[path[-1]] = value


def model_delete(root, path):
    node = root
    for segment in path[:-1]:
        node = node.get(segment)
        if not isinstance(node, dict):
            return
    node.pop(path[-1], None)


def model_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = model_patch(result.get(key), value)
    return result


def model_get(root, path):
    node = root
    for segment in path:
        if not isinstance(node, dict) or segment not in node:
            return KeyError
        node = node[segment]
    return node


def url_path(container, path=()):
    return '/v1/' + '/'.join(urllib.parse.quote(part, safe='')
                             for part in [container, *path])


def canonical(value):
    return json.dumps(value, sort_keys=True)


class APIModel(stateful.RuleBasedStateMachine):
    api = None      # set by the test

    def __init__(self):
        super().__init__()
        self.model = {}
        self.session = requests.Session()
        self.session.headers['X-User-Id'] = 'model-' + uuid.uuid4().hex

    def request(self, method, path, body=NO_BODY, content_type=None):
        headers = {'Content-Type': content_type} if content_type else {}
        data = None if body is NO_BODY else json.dumps(body)
        return self.session.request(method, self.api.url(path), data=data,
                                    headers=headers, timeout=30)

    @stateful.rule(container=st.sampled_from(CONTAINERS), obj=OBJECTS)
    def merge(self, container, obj):
        assert self.request('POST', url_path(container),
                            obj).status_code == 204
        self.model.setdefault(container, {}).update(copy.deepcopy(obj))

    @stateful.rule(container=st.sampled_from(CONTAINERS), path=PATHS,
                   value=VALUES)
    def set_value(self, container, path, value):
        trial = copy.deepcopy(self.model.get(container, {}))
        try:
            model_set(trial, path, copy.deepcopy(value))
            expected = 204
        except Conflict:
            expected = 409
        response = self.request('POST', url_path(container, path), value)
        assert response.status_code == expected, response.text
        if expected == 204:
            self.model[container] = trial

    @stateful.rule(container=st.sampled_from(CONTAINERS),
                   path=st.lists(st.sampled_from(SEGMENTS), max_size=2),
                   patch=VALUES)
    def merge_patch(self, container, path, patch):
        if not path and not isinstance(patch, dict):
            return      # a container stays an object: 400, tested apart
        trial = copy.deepcopy(self.model.get(container, {}))
        try:
            if path:
                current = model_get(trial, path)
                model_set(trial, path, model_patch(
                    None if current is KeyError else current, patch))
            else:
                trial = model_patch(trial, patch)
            expected = 204
        except Conflict:
            expected = 409
        response = self.request('PATCH', url_path(container, path), patch,
                                'application/merge-patch+json')
        assert response.status_code == expected, response.text
        if expected == 204:
            self.model[container] = trial

    @stateful.rule(container=st.sampled_from(CONTAINERS), path=PATHS)
    def delete_value(self, container, path):
        assert self.request('DELETE', url_path(container, path)
                            ).status_code == 204
        if container in self.model:
            model_delete(self.model[container], path)

    @stateful.rule(container=st.sampled_from(CONTAINERS))
    def delete_container(self, container):
        assert self.request('DELETE', url_path(container)).status_code == 204
        self.model.pop(container, None)

    @stateful.rule()
    def delete_everything(self):
        assert self.request('DELETE', '/v1').status_code == 204
        self.model.clear()

    @stateful.rule(container=st.sampled_from(CONTAINERS), path=PATHS)
    def read_value(self, container, path):
        expected = model_get(self.model.get(container, KeyError), path) \
            if container in self.model else KeyError
        response = self.request('GET', url_path(container, path))
        if expected is KeyError:
            assert response.status_code == 404
        else:
            assert response.status_code == 200
            assert canonical(response.json()) == canonical(expected)

    @stateful.invariant()
    def same_data(self):
        response = self.request('GET', '/v1')
        assert response.json() == sorted(self.model)
        for container, value in self.model.items():
            stored = self.request('GET', url_path(container)).json()
            assert canonical(stored) == canonical(value)

    def teardown(self):
        self.session.close()


def test_api_behaves_like_the_dict_model(api):
    APIModel.api = api
    stateful.run_state_machine_as_test(
        APIModel, settings=hypothesis.settings(
            max_examples=EXAMPLES, stateful_step_count=25, deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck)))
