"""The merged view of the layers (API 1.4, ``?effective=true``).

A container reads as the caller's layers merge, lowest first: the
cloud's, the domain's (of the token), the project's (of the token), the
user's own. Objects merge key by key, recursively; any other value in a
higher layer replaces the lower one; ``null`` in a higher layer removes
the key (RFC 7396's merge patch, applied layer over layer). A shared
layer takes part when policy lets the caller read it.

One read of the container in every layer at once (one database round
trip, :meth:`~cloudprefs.storage.base.StorageDriver.get_containers`); the
ETag is a digest of every layer's revision of it, so it
changes when any of them does, and a watch (``Prefer: wait``) wakes on
a change in any layer's feed.
"""

import hashlib
import json

from cloudprefs.api import conditional
from cloudprefs.api import errors
from cloudprefs.api.handlers import feed
from cloudprefs.api.handlers import responses
from cloudprefs.api import microversion
from cloudprefs.api import scope
from cloudprefs.policies import layers as layer_rules
from cloudprefs.storage import document
from cloudprefs.storage import exceptions
from cloudprefs.storage import owners

_ALONE = ('scope', 'user_id', 'project_id', 'domain_id')


def requested(req):
    """Whether the request asks for the merged view (400 for a value
    other than true or false, or with a layer named)."""
    if req.api_version < microversion.LAYERS:
        return False
    text = req.GET.get('effective')
    if text is None or text == 'false':
        return False
    if text != 'true':
        raise errors.APIError(400, errors.BAD_REQUEST,
                              'effective must be true or false.')
    named = [name for name in _ALONE if name in req.GET]
    if named:
        raise errors.APIError(
            400, errors.BAD_REQUEST,
            'effective=true merges the caller\'s own layers; it does not '
            'go with %s.' % ' or '.join(named))
    return True


def _layers(req):
    """The storage keys of the layers the caller reads, lowest first."""
    context = req.context
    authorizer = req.authorizer
    domain_id = scope.token_domain(context)
    reachable = [(owners.CLOUD, None, {}),
                 (owners.DOMAIN, domain_id, {'domain_id': domain_id}),
                 (owners.PROJECT, context.project_id,
                  {'project_id': context.project_id})]
    keys = []
    for layer, layer_id, target in reachable:
        if layer != owners.CLOUD and not layer_id:
            continue
        if authorizer.authorize(layer_rules.read_rule(layer), target,
                                context):
            keys.append(owners.Owner(layer, layer_id).key)
    keys.append(req.owner_id)
    return keys


class _Merged:
    """The container as the layers merge: its value and validators."""

    def __init__(self, keys, found):
        present = [found[key] for key in keys if key in found]
        if not present:
            raise exceptions.NotFound()
        value = present[0].value
        for read in present[1:]:
            value = document.merge_patch(value, read.value)
        self.value = value
        self.etag = merged_etag(keys, found)
        self.modified_at = max(read.modified_at for read in present)


def merged_etag(keys, found):
    """An ETag of the merged view: every layer's key and revision of the
    container (None: absent; ``found`` holds the layers that have it).
    Never equal to a layer's own ETag."""
    revisions = [found[key].revision if key in found else None
                 for key in keys]
    digest = hashlib.sha256(json.dumps([keys, revisions]).encode('utf-8'))
    return '"m%s"' % digest.hexdigest()[:31]


def _watch(req, keys, container):
    """``Prefer: wait=N`` with ``If-None-Match``: hold the read until the
    merged view's ETag differs, waking for a change in any layer."""
    seconds = feed.requested_wait(req)
    if not seconds:
        return {}

    def look():
        # The positions first: a change after them wakes the wait.
        positions = req.storage.feed_positions(keys)
        found = req.storage.get_containers(keys, container)
        return ({key: positions.get(key, 0) for key in keys},
                merged_etag(keys, found) if found else None)

    return feed.wait_until_changed(req, container, seconds, look=look,
                                   also=keys[:-1])


def read(req, container, key_path):
    """200 with the merged container, or the value at ``key_path`` in
    it, or 304."""
    keys = _layers(req)
    watched = _watch(req, keys, container)
    merged = _Merged(keys, req.storage.get_containers(keys, container))
    value = merged.value
    if key_path:
        value = document.get_at_path(value, key_path)
    headers = {'ETag': merged.etag,
               'Last-Modified': conditional.http_date(merged.modified_at)}
    headers.update(watched)
    # By the ETag only: the newest layer's time does not say when the
    # merge changed (deleting a layer's container makes it older).
    if conditional.not_modified(req, merged.etag):
        return responses.not_modified(headers)
    return responses.json_response(value, headers)


def list_names(req, limit, marker, prefix):
    """The sorted union of the layers' names: one page, and whether
    more follow."""
    names = set()
    for key in _layers(req):
        names.update(req.storage.list_containers(
            key, limit=limit + 1, marker=marker, prefix=prefix))
    names = sorted(names)
    return names[:limit], len(names) > limit
