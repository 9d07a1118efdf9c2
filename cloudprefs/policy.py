"""The policy enforcer, made once per application from its ConfigOpts."""

from oslo_config import cfg
from oslo_policy import policy

from cloudprefs import policies


def make_enforcer(conf):
    """An Enforcer with the defaults in code registered.

    Made once at application start: rules are parsed then, and again only
    when the policy file changes on disk.
    """
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def get_enforcer():
    """oslo.policy.enforcer entry point, for oslopolicy-* tools."""
    conf = cfg.ConfigOpts()
    conf([], project='cloudprefs')
    return make_enforcer(conf)
