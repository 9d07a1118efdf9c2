"""Rules the API rules are built from.

The target of every check is the user whose data a request acts on: the
caller, or the user named by ``?user_id=``.
"""

from oslo_policy import policy

ADMIN = 'context_is_admin'
OWNER = 'owner'
OWNER_OR_ADMIN = 'owner_or_admin'

# Until this release any admin of any project was an administrator here:
# the admin of a throw-away project could read and delete every user's
# preferences. A cloud whose operators still work with project-scoped
# admin tokens sets [oslo_policy] enforce_new_defaults = false, which
# accepts this rule too, until they move to system-scoped tokens.
_DEPRECATED_ADMIN = policy.DeprecatedRule(
    name=ADMIN, check_str='role:admin',
    deprecated_reason='An admin role on a project made its holder an '
                      'administrator of every user\'s preferences; acting '
                      'on other users\' data is a cloud operator\'s job and '
                      'now needs a system-scoped token (the secure RBAC '
                      'convention of OpenStack).',
    deprecated_since='2026.2')

RULES = [
    policy.RuleDefault(
        ADMIN, 'role:admin and system_scope:all',
        description='A cloud administrator: the admin role on a '
                    'system-scoped token. With [oslo_policy] '
                    'enforce_new_defaults = false, the admin role on any '
                    'project is one too (deprecated).',
        deprecated_rule=_DEPRECATED_ADMIN),
    policy.RuleDefault(
        OWNER, 'user_id:%(user_id)s',
        description='The caller is the user whose data is acted on.'),
    policy.RuleDefault(
        OWNER_OR_ADMIN, 'rule:%s or rule:%s' % (OWNER, ADMIN),
        description='Any valid token for one\'s own data; an administrator '
                    'for another user\'s (?user_id=).'),
]


def list_rules():
    return RULES
