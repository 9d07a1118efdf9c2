"""Rules the API rules are built from.

The target of every check is the user whose data a request acts on: the
caller, or the user named by ``?user_id=``.
"""

from oslo_policy import policy

ADMIN = 'context_is_admin'
OWNER = 'owner'
OWNER_OR_ADMIN = 'owner_or_admin'

RULES = [
    policy.RuleDefault(
        ADMIN, 'role:admin',
        description='An administrator: the admin role, on a project or on '
                    'a system-scoped token.'),
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
