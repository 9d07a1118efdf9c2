"""Rules of the shared layers (API 1.4, ``?scope=``).

The target of a layer's check names the layer: ``project_id`` for the
project layer, ``domain_id`` for the domain layer, nothing for the cloud.
A layer is read by whoever's token reaches it and written by its
managers, in the secure-RBAC shape: the ``manager`` (or ``admin``) role
on the project or on the domain, and the system-scoped administrator for
the cloud and for any project or domain.
"""

from oslo_policy import policy

from cloudprefs.policies import base

PREFIX = 'cloudprefs:layer:'
PROJECT_READER = 'project_reader'
PROJECT_MANAGER = 'project_manager'
DOMAIN_READER = 'domain_reader'
DOMAIN_MANAGER = 'domain_manager'

_MANAGER_ROLE = '(role:admin or role:manager)'
_OR_ADMIN = ' or rule:' + base.ADMIN


def read_rule(layer):
    return '%s%s:read' % (PREFIX, layer)


def write_rule(layer):
    return '%s%s:write' % (PREFIX, layer)


def _api_rule(name, check_str, description, methods):
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{'method': method, 'path': path}
                    for method in methods.split()
                    for path in ('/v1?scope=%s' % name.split(':')[2],
                                 '/v1/{container}?scope=%s'
                                 % name.split(':')[2])])


RULES = [
    policy.RuleDefault(
        PROJECT_READER, 'project_id:%(project_id)s',
        description='A token scoped to the project, with any role.'),
    policy.RuleDefault(
        PROJECT_MANAGER, _MANAGER_ROLE + ' and project_id:%(project_id)s',
        description='The manager or admin role on a token scoped to the '
                    'project.'),
    policy.RuleDefault(
        DOMAIN_READER,
        'domain_id:%(domain_id)s or project_domain_id:%(domain_id)s',
        description='A token scoped to the domain, or to a project of the '
                    'domain, with any role.'),
    policy.RuleDefault(
        DOMAIN_MANAGER, _MANAGER_ROLE + ' and domain_id:%(domain_id)s',
        description='The manager or admin role on a token scoped to the '
                    'domain.'),
    _api_rule(read_rule('project'), 'rule:' + PROJECT_READER + _OR_ADMIN,
              'Read the project layer: its containers, values, names, '
              'usage and feed.', 'GET HEAD'),
    _api_rule(write_rule('project'), 'rule:' + PROJECT_MANAGER + _OR_ADMIN,
              'Write or delete in the project layer.',
              'POST PUT PATCH DELETE'),
    _api_rule(read_rule('domain'), 'rule:' + DOMAIN_READER + _OR_ADMIN,
              'Read the domain layer.', 'GET HEAD'),
    _api_rule(write_rule('domain'), 'rule:' + DOMAIN_MANAGER + _OR_ADMIN,
              'Write or delete in the domain layer.',
              'POST PUT PATCH DELETE'),
    _api_rule(read_rule('cloud'), '@',
              'Read the cloud layer (any valid token).', 'GET HEAD'),
    _api_rule(write_rule('cloud'), 'rule:' + base.ADMIN,
              'Write or delete in the cloud layer (the cloud '
              'administrator).', 'POST PUT PATCH DELETE'),
]


def list_rules():
    return RULES
