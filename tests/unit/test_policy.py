"""Policy: every route has a rule; ?user_id= is for administrators."""

import logging
import os
import subprocess
import time
import sys

import pytest
import webob

from cloudprefs.api import deploy
from cloudprefs.api import routes
from cloudprefs import policies
from cloudprefs.service import startup
from cloudprefs import storage


def test_every_route_and_method_has_a_registered_rule():
    registered = {rule.name: rule for rule in policies.list_rules()}
    checked = []
    for template, methods in routes.ROUTE_DECLARATIONS.items():
        for method, handler in methods.items():
            rule = registered[handler.policy_rule]
            operations = {(op['method'], op['path']) for op in
                          rule.operations}
            path = '/v1' + template.replace('*key_path', '{key_path}')
            path = path.rstrip('/') or '/v1'
            assert (method, path) in operations
            if method == 'GET':     # HEAD runs the GET handler
                assert ('HEAD', path) in operations
            checked.append((template, method))
    assert len(checked) == sum(len(m) for m in
                               routes.ROUTE_DECLARATIONS.values())
    assert len(checked) == 11


@pytest.fixture
def make_app(tmp_path):
    def make(policy_yaml=None):
        args = []
        if policy_yaml is not None:
            policy_file = tmp_path / 'policy.yaml'
            policy_file.write_text(policy_yaml)
            conf_file = tmp_path / 'cloudprefs.conf'
            conf_file.write_text('[oslo_policy]\npolicy_file = %s\n'
                                 % policy_file)
            args = ['--config-file', str(conf_file)]
        conf = startup.prepare_conf(args, default_config_files=[],
                                    command_line=False)
        conf.set_override('auth_strategy', 'noauth')
        conf.set_override('state_path', str(tmp_path))
        return deploy.load_app(conf)
    yield make
    storage.close_drivers()


def call(app, method, path, user, roles='', body=b'', system_scope=None):
    headers = {'X-User-Id': user}
    if roles:
        headers['X-Roles'] = roles
    if system_scope:
        headers['OpenStack-System-Scope'] = system_scope
    return webob.Request.blank(path, method=method, headers=headers,
                               body=body).get_response(app)


def test_user_id_query_needs_admin(make_app):
    app = make_app()
    assert call(app, 'POST', '/v1/c/k', 'bob', body=b'1').status_int == 204
    for method, path in (('GET', '/v1'), ('GET', '/v1/c'),
                         ('GET', '/v1/c/k'), ('POST', '/v1/c'),
                         ('DELETE', '/v1/c/k'), ('DELETE', '/v1')):
        response = call(app, method, path + '?user_id=bob', 'alice',
                        roles='member,reader')
        assert response.status_int == 403, (method, path)
        assert response.json['errors'][0]['code'] == 'cloudprefs.forbidden'
    assert call(app, 'GET', '/v1/c/k', 'bob').json == 1

    response = call(app, 'GET', '/v1/c/k?user_id=bob', 'root',
                    roles='admin', system_scope='all')
    assert response.status_int == 200 and response.json == 1
    assert call(app, 'POST', '/v1/c/k?user_id=bob', 'root', roles='admin',
                system_scope='all',
                body=b'2').status_int == 204
    assert call(app, 'GET', '/v1/c/k', 'bob').json == 2
    assert call(app, 'GET', '/v1?user_id=root', 'root',
                roles='admin', system_scope='all').json == []
    # Naming oneself needs no role.
    assert call(app, 'GET', '/v1?user_id=bob', 'bob').json == ['c']


@pytest.mark.parametrize('query', ['user_id=', 'user_id=%09x',
                                   'user_id=' + 'x' * 256, 'user_id=%FF'])
def test_bad_user_id_query_is_400(make_app, query):
    app = make_app()
    response = call(app, 'GET', '/v1?' + query, 'root', roles='admin',
                    system_scope='all')
    assert response.status_int == 400
    assert response.json['errors'][0]['code'] == 'cloudprefs.bad_request'


def test_policy_file_overrides_a_default(make_app):
    app = make_app('"cloudprefs:container:delete": "rule:context_is_admin"\n')
    assert call(app, 'POST', '/v1/c/k', 'bob', body=b'1').status_int == 204
    response = call(app, 'DELETE', '/v1/c', 'bob')
    assert response.status_int == 403
    assert call(app, 'DELETE', '/v1/c/k', 'bob').status_int == 204
    assert call(app, 'DELETE', '/v1/c?user_id=bob', 'root',
                roles='admin', system_scope='all').status_int == 204


def test_sample_policy_generator(tmp_path):
    output = tmp_path / 'policy.yaml.sample'
    script = os.path.join(os.path.dirname(sys.executable),
                          'oslopolicy-sample-generator')
    subprocess.run([script, '--config-file',
                    'etc/cloudprefs/cloudprefs-policy-generator.conf',
                    '--output-file', str(output)], check=True, timeout=60)
    sample = output.read_text()
    for rule in policies.list_rules():
        assert '"%s"' % rule.name in sample


def conf_with_policy_file(tmp_path, content):
    """A loaded configuration whose [oslo_policy] policy_file holds
    ``content``; returns (conf, the policy file's path)."""
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text(content)
    conf_file = tmp_path / 'cloudprefs.conf'
    conf_file.write_text('[oslo_policy]\npolicy_file = %s\n' % policy_file)
    conf = startup.prepare_conf(['--config-file', str(conf_file)],
                                default_config_files=[], command_line=False)
    return conf, policy_file


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_cached_decisions_follow_a_changed_policy_file(tmp_path):
    from oslo_context import context as oslo_context

    from cloudprefs.policies import enforcer
    conf, policy_file = conf_with_policy_file(tmp_path, '{}\n')
    clock = FakeClock()
    authorizer = enforcer.Authorizer(enforcer.make_enforcer(conf), clock=clock)
    bob = oslo_context.RequestContext(user_id='bob', roles=['member'])
    rule = 'cloudprefs:container:delete'
    assert authorizer.authorize(rule, {'user_id': 'bob'}, bob)
    assert not authorizer.authorize(rule, {'user_id': 'alice'}, bob)
    policy_file.write_text('"%s": "rule:context_is_admin"\n' % rule)
    later = time.time() + 10   # a newer mtime for certain
    os.utime(policy_file, (later, later))
    assert authorizer.authorize(rule, {'user_id': 'bob'}, bob)   # cached
    clock.now += enforcer.RELOAD_INTERVAL
    assert not authorizer.authorize(rule, {'user_id': 'bob'}, bob)
    admin = oslo_context.RequestContext(user_id='root', roles=['admin'],
                                        system_scope='all')
    assert authorizer.authorize(rule, {'user_id': 'bob'}, admin)


def test_decisions_are_cached_by_every_credential(tmp_path):
    from oslo_context import context as oslo_context

    from cloudprefs.policies import enforcer

    class NestedValuesContext(oslo_context.RequestContext):
        """A context whose policy values are not flat."""

        def to_policy_values(self):
            values = super().to_policy_values()
            values['extra'] = {'tags': ['a']}
            return values

    conf = startup.prepare_conf([], default_config_files=[],
                                command_line=False)
    authorizer = enforcer.Authorizer(enforcer.make_enforcer(conf),
                                     clock=FakeClock())
    rule = 'cloudprefs:containers:delete_all'
    member = oslo_context.RequestContext(user_id='bob', roles=['member'])
    admin = oslo_context.RequestContext(user_id='bob', roles=['admin'],
                                        system_scope='all')
    nested = NestedValuesContext(user_id='bob', roles=['member'])
    assert authorizer.authorize(rule, {'user_id': 'bob'}, member)
    assert not authorizer.authorize(rule, {'user_id': 'alice'}, member)
    assert authorizer.authorize(rule, {'user_id': 'alice'}, admin)
    assert authorizer.authorize(rule, {'user_id': 'bob'}, nested)
    assert not authorizer.authorize(rule, {'user_id': 'alice'}, nested)


def test_a_project_admin_is_no_administrator_by_default(make_app):
    app = make_app()
    assert call(app, 'POST', '/v1/c/k', 'bob', body=b'1').status_int == 204
    for method in ('GET', 'DELETE'):
        response = call(app, method, '/v1/c/k?user_id=bob', 'root',
                        roles='admin,member')
        assert response.status_int == 403, method
    assert call(app, 'GET', '/v1/c/k?user_id=bob', 'root', roles='member',
                system_scope='all').status_int == 403
    assert call(app, 'GET', '/v1/c/k?user_id=bob', 'root', roles='admin',
                system_scope='all').json == 1


def test_the_deprecated_project_admin_rule_under_old_defaults(tmp_path):
    conf_file = tmp_path / 'cloudprefs.conf'
    conf_file.write_text('[oslo_policy]\nenforce_new_defaults = false\n')
    conf = startup.prepare_conf(['--config-file', str(conf_file)],
                                default_config_files=[], command_line=False)
    conf.set_override('auth_strategy', 'noauth')
    conf.set_override('state_path', str(tmp_path))
    app = deploy.load_app(conf)
    try:
        assert call(app, 'POST', '/v1/c/k', 'bob', body=b'1'
                    ).status_int == 204
        assert call(app, 'GET', '/v1/c/k?user_id=bob', 'root',
                    roles='admin').json == 1
        assert call(app, 'GET', '/v1/c/k?user_id=bob', 'eve',
                    roles='member').status_int == 403
    finally:
        storage.close_drivers()


@pytest.mark.parametrize('content', [
    '"a": [unclosed\n', '- not a map\n', '"rule": "role:admin and (\n'])
def test_a_policy_file_that_does_not_parse_stops_the_start(tmp_path,
                                                           content):
    from cloudprefs.policies import enforcer
    conf, policy_file = conf_with_policy_file(tmp_path, content)
    with pytest.raises(enforcer.PolicyFileError) as caught:
        enforcer.make_enforcer(conf)
    assert str(policy_file) in str(caught.value)
    assert '\n' not in str(caught.value)


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_a_bad_edit_while_running_keeps_the_last_good_rules(tmp_path):
    from oslo_context import context as oslo_context

    from cloudprefs.policies import enforcer
    rule = 'cloudprefs:container:delete'
    conf, policy_file = conf_with_policy_file(
        tmp_path, '"%s": "rule:context_is_admin"\n' % rule)
    clock = FakeClock()
    authorizer = enforcer.Authorizer(enforcer.make_enforcer(conf), clock=clock)
    bob = oslo_context.RequestContext(user_id='bob', roles=['member'])
    assert not authorizer.authorize(rule, {'user_id': 'bob'}, bob)
    records = Records()
    logging.getLogger('cloudprefs.policies.enforcer').addHandler(records)
    try:
        for number, broken in enumerate(('"%s": [unclosed\n' % rule,
                                         '- not a mapping\n')):
            policy_file.write_text(broken)
            later = time.time() + 10 * (number + 1)
            os.utime(policy_file, (later, later))
            clock.now += enforcer.RELOAD_INTERVAL
            # The rules read before: still refused, and no exception.
            assert not authorizer.authorize(rule, {'user_id': 'bob'}, bob)
            assert 'cannot be used' in records.messages[-1]
            assert len(records.messages) == number + 1
    finally:
        logging.getLogger('cloudprefs.policies.enforcer').removeHandler(
            records)
    policy_file.write_text('{}\n')
    later = time.time() + 100
    os.utime(policy_file, (later, later))
    clock.now += enforcer.RELOAD_INTERVAL
    assert authorizer.authorize(rule, {'user_id': 'bob'}, bob)
    later = time.time() + 200
    os.utime(policy_file, (later, later))
    clock.now += enforcer.RELOAD_INTERVAL
    assert authorizer.authorize(rule, {'user_id': 'bob'}, bob)
