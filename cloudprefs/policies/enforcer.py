"""The policy enforcer, made once per application from its ConfigOpts."""

import collections.abc
import logging
import time

from oslo_config import cfg
from oslo_policy import policy

from cloudprefs import policies

LOG = logging.getLogger(__name__)

# How often the policy file is checked for changes, and decisions cached
# in between are forgotten.
RELOAD_INTERVAL = 5.0
MAX_CACHED_DECISIONS = 10000


class PolicyFileError(Exception):
    """The policy file cannot be read; the service refuses to start."""


def make_enforcer(conf):
    """An Enforcer with the defaults in code registered and the policy
    file, if any, read.

    Made once at application start: rules are parsed then, and again only
    when the policy file changes on disk. A file that cannot be parsed
    stops the start with a message saying which and why.
    """
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    try:
        enforcer.load_rules()
    except Exception as error:
        raise PolicyFileError('cannot use the policy file %s: %s' % (
            enforcer.policy_path or conf.oslo_policy.policy_file,
            str(error).replace('\n', ' '))) from error
    return enforcer


def _flat_key(mapping):
    """A cache key for a flat mapping of policy values (strings, booleans,
    None, lists of strings) without sorting: a mapping met in another
    order only misses the cache."""
    return tuple((name, tuple(value) if isinstance(value, list) else value)
                 for name, value in mapping.items())


def _frozen(value):
    """A hashable copy of any nesting of mappings and sequences."""
    if isinstance(value, collections.abc.Mapping):
        return tuple(sorted((key, _frozen(item))
                            for key, item in value.items()))
    if isinstance(value, (list, tuple, set)):
        return tuple(_frozen(item) for item in value)
    return value


class Authorizer:
    """Policy decisions, cached between checks of the policy file.

    A decision is a pure function of the rule set, the rule, the target and
    the caller's credentials, so it is cached under all three for at most
    RELOAD_INTERVAL seconds; then the policy file is checked (the
    Enforcer reloads it if it changed) and the cache starts again. This
    saves oslo.policy's per-check file stats and signature inspection on
    the hot path.
    """

    def __init__(self, enforcer, clock=time.monotonic):
        self.enforcer = enforcer
        self._clock = clock
        self._decisions = {}
        self._next_reload = 0.0

    def authorize(self, rule, target, context):
        now = self._clock()
        if now >= self._next_reload:
            self._reload_rules()
            self._decisions.clear()
            self._next_reload = now + RELOAD_INTERVAL
        credentials = context.to_policy_values()
        key = (rule, _flat_key(target), _flat_key(credentials))
        try:
            decision = self._decisions.get(key)
        except TypeError:   # a value that is not flat
            key = (rule, _frozen(target), _frozen(credentials))
            decision = self._decisions.get(key)
        if decision is None:
            decision = bool(self.enforcer.authorize(rule, target,
                                                    credentials,
                                                    do_raise=False))
            if len(self._decisions) >= MAX_CACHED_DECISIONS:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def _reload_rules(self):
        """Read the policy file again if it changed. A change that cannot
        be parsed is logged and the rules in force stay: oslo.policy
        replaces them only once a new file parses, and reads that file
        again only when it changes once more."""
        try:
            self.enforcer.load_rules()
        except Exception as error:
            LOG.error('The policy file %s cannot be used (%s); the rules '
                      'read before stay in force until it is mended.',
                      self.enforcer.policy_path, error)


def get_enforcer():
    """oslo.policy.enforcer entry point, for oslopolicy-* tools."""
    conf = cfg.ConfigOpts()
    conf([], project='cloudprefs')
    return make_enforcer(conf)
