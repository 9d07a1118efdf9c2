"""Whose data a request acts on, and whether policy lets it.

Without parameters, the caller's own (the ``user`` layer); an
administrator names another user with ``?user_id=``. From API 1.4,
``?scope=project|domain|cloud`` names a shared layer instead: the
token's project, the token's domain (the domain a domain-scoped token
names, or that of its project) or the cloud's; ``project_id=`` or
``domain_id=`` name another one, which policy lets only an administrator
reach. A layer is checked with its own read or write rule
(:mod:`cloudprefs.policies.layers`) instead of the route's.
"""

from cloudprefs.api import errors
from cloudprefs.api import microversion
from cloudprefs.api import request as api_request
from cloudprefs.policies import layers as layer_rules
from cloudprefs.storage import owners

READ_METHODS = frozenset(('GET', 'HEAD'))


def _bad(detail):
    return errors.APIError(400, errors.BAD_REQUEST, detail)


def _query(req):
    try:
        return req.GET
    except UnicodeDecodeError:
        raise _bad('The query string is not valid UTF-8.')


def _layer_id(query, name, from_token, layer):
    """The id of the project or domain a layer request names: the query's
    ``name``, or the token's."""
    given = query.get(name)
    if given is None:
        if not from_token:
            raise _bad('The token is not scoped to a %s: name one with '
                       '%s=.' % (layer, name))
        return from_token
    # oslo.policy compares a credential that is None as the text "None".
    if not owners.is_valid_layer_id(given) or given == 'None':
        raise _bad('%s must be 1 to %d bytes of printable characters.'
                   % (name, owners.MAX_LAYER_ID_BYTES))
    return given


def token_domain(context):
    """The domain a token reaches: the one it is scoped to, or that of
    its project."""
    return context.domain_id or context.project_domain_id


def _user(query, context, route_rule):
    """The user layer: the caller's, or ``?user_id=``'s."""
    user_id = query.get('user_id')
    if user_id is None:
        user_id = context.user_id
    elif not api_request.is_valid_user_id(user_id):
        raise _bad('user_id must be 1 to 255 bytes of printable '
                   'characters.')
    return (owners.Owner(owners.USER, user_id), route_rule,
            {'user_id': user_id})


# The parameters that name an owner, and the layer each goes with.
_OWNER_PARAMETERS = {'user_id': owners.USER, 'project_id': owners.PROJECT,
                     'domain_id': owners.DOMAIN}


def requested_owner(req, route_rule):
    """``(owner, rule, target)``: the :class:`owners.Owner` the request
    acts on, and the policy check that must pass for it."""
    context = req.context
    query = _query(req)
    if req.api_version < microversion.LAYERS:
        return _user(query, context, route_rule)
    layer = query.get('scope', owners.USER)
    if layer not in owners.MERGE_ORDER:
        raise _bad('scope must be one of user, project, domain and cloud.')
    misplaced = sorted(name for name, goes_with in _OWNER_PARAMETERS.items()
                       if name in query and goes_with != layer)
    if misplaced:
        raise _bad('%s does not go with scope=%s.'
                   % (' and '.join(misplaced), layer))
    if layer == owners.USER:
        return _user(query, context, route_rule)
    if layer == owners.PROJECT:
        layer_id = _layer_id(query, 'project_id', context.project_id,
                             'project')
        target = {'project_id': layer_id}
    elif layer == owners.DOMAIN:
        layer_id = _layer_id(query, 'domain_id', token_domain(context),
                             'domain')
        target = {'domain_id': layer_id}
    else:
        layer_id, target = None, {}
    rule = (layer_rules.read_rule(layer) if req.method in READ_METHODS
            else layer_rules.write_rule(layer))
    return owners.Owner(layer, layer_id), rule, target


def forbidden(rule, owner, context):
    """The 403 of a policy refusal, naming whose data it was."""
    if owner.layer == owners.USER:
        whose = 'you' if owner.id == context.user_id else 'another'
        return errors.APIError(403, errors.FORBIDDEN,
                               'Policy does not allow %s for user %s.'
                               % (rule, whose))
    return errors.APIError(403, errors.FORBIDDEN,
                           'Policy does not allow %s for %s.'
                           % (rule, owner))
