"""Handlers for the user's containers and the values inside them.

Each handler names its policy rule, reads the request, validates its
body, calls the storage driver and answers. The writes share one shape
(:func:`write_handler`: precondition, body, driver, 204). The policy
check, HEAD, and the mapping of storage exceptions to HTTP happen once,
in :mod:`cloudprefs.api.app`.
"""

import functools
import re
import urllib.parse

from cloudprefs.api import body
from cloudprefs.api import conditional
from cloudprefs.api import errors
from cloudprefs.api import expiry
from cloudprefs.api.handlers import effective
from cloudprefs.api.handlers import feed
from cloudprefs.api.handlers import responses
from cloudprefs.api import microversion
from cloudprefs.policies import containers as rules
from cloudprefs.storage import json_patch

MERGE_PATCH_TYPE = 'application/merge-patch+json'
JSON_PATCH_TYPE = 'application/json-patch+json'


def policy_rule(name):
    """Name the policy rule the application checks before the handler."""
    def decorate(handler):
        handler.policy_rule = name
        return handler
    return decorate


def write_handler(rule, creates=False):
    """A write: ``handler(req, precondition, **route)`` validates the body,
    writes through the driver and returns what it wrote, answered 204
    with the container's new validators.

    The precondition (``If-Match``; ``If-None-Match: *`` too where the
    write may ``create`` the container) is read first, so that a
    malformed one is refused before the body is.
    """
    def decorate(handler):
        @functools.wraps(handler)
        def write(req, **route):
            precondition = conditional.write_precondition(
                req, allow_if_none_match=creates)
            return responses.no_content(handler(req, precondition, **route))
        return policy_rule(rule)(write)
    return decorate


_NO_BODY = object()


def _read_json(req, required):
    """The parsed body; ``_NO_BODY`` when it is empty and not required."""
    raw = body.read_body(req, req.limits.max_request_body_size)
    if not raw.strip():
        if required:
            raise errors.APIError(400, errors.EMPTY_BODY,
                                  'This request needs a JSON body.')
        return _NO_BODY
    return body.parse(raw)


def _require_object(value):
    if not isinstance(value, dict):
        raise errors.APIError(
            400, errors.NOT_AN_OBJECT,
            'A container body must be a JSON object; to store another '
            'value, send it to a key path below the container.')


def _object_body(req, required):
    """A container's whole new value: a JSON object (``{}`` for an empty
    body where none is ``required``) within the depth limit."""
    value = _read_json(req, required)
    if value is _NO_BODY:
        value = {}
    _require_object(value)
    body.check_depth(0, value, req.limits.max_depth)
    return value


def _read_merge_patch(req, patch_types=(MERGE_PATCH_TYPE,)):
    """The body of a merge patch; 415 naming ``patch_types`` (what the
    resource takes, at the request's version) for another type."""
    if req.content_type != MERGE_PATCH_TYPE:
        if len(patch_types) == 1:
            detail = 'PATCH takes Content-Type: %s (RFC 7396).' % (
                MERGE_PATCH_TYPE)
        else:
            detail = ('PATCH takes Content-Type: %s (RFC 7396) or %s '
                      '(RFC 6902).' % patch_types)
        raise errors.APIError(
            415, errors.UNSUPPORTED_MEDIA_TYPE, detail,
            headers={'Accept-Patch': ', '.join(patch_types)})
    return _read_json(req, required=True)


def _read_json_patch(req):
    """The operations of a JSON Patch body; 400 for a malformed one."""
    try:
        return json_patch.parse(_read_json(req, required=True))
    except ValueError as error:
        raise errors.APIError(400, errors.INVALID_PATCH,
                              'The JSON Patch is malformed: %s.' % error)


def _validators(revision, modified_at):
    return {'ETag': conditional.etag(revision),
            'Last-Modified': conditional.http_date(modified_at)}


def _watch(req, container):
    """``If-None-Match`` with ``Prefer: wait=N``: hold the read until the
    container's revision differs from the one named, for up to N
    seconds. The headers to add to the read's answer."""
    seconds = feed.requested_wait(req)
    if seconds:
        return feed.wait_until_changed(req, container, seconds)
    return None


def _with_headers(response, headers):
    if headers:
        response.headers.update(headers)
    return response


def _read_answer(req, read):
    """200 with what was read and its container's validators, or 304."""
    headers = _validators(read.revision, read.modified_at)
    headers.update(expiry.headers(req, read.expires_at))
    if conditional.not_modified(req, headers['ETag'], read.modified_at):
        return responses.not_modified(headers)
    return responses.json_text_response(read.text, headers)


# /v1 -----------------------------------------------------------------------

_DIGITS = re.compile('[0-9]+')


def _page_limit(req):
    max_limit = req.limits.max_limit
    text = req.GET.get('limit')
    if text is None:
        return max_limit
    # ASCII digits only: str.isdigit() also takes '²', which int() refuses;
    # and few of them: int() refuses more than 4,300.
    if (not _DIGITS.fullmatch(text) or len(text) > 18
            or not text.strip('0')):
        raise errors.APIError(400, errors.BAD_REQUEST,
                              'limit must be a positive integer of at most '
                              '18 digits.')
    return min(int(text), max_limit)


def _wants_details(req):
    """``?detail=true`` (1.2): list each container's size and validators
    with its name."""
    if req.api_version < microversion.DETAILED_LISTING:
        return False
    text = req.GET.get('detail')
    if text is None or text == 'false':
        return False
    if text == 'true':
        return True
    raise errors.APIError(400, errors.BAD_REQUEST,
                          'detail must be true or false.')


def _detail(req, name, meta):
    """One container of a detailed listing."""
    detail = {'name': name, 'bytes': meta.size,
              'etag': conditional.etag(meta.revision),
              'last_modified': conditional.iso_time(meta.modified_us)}
    if req.api_version >= microversion.EXPIRY:
        detail['expires_at'] = (
            None if meta.expires_at is None
            else conditional.iso_time(meta.expires_at * 1000000))
    return detail


@policy_rule(rules.LIST_CONTAINERS)
def list_containers(req):
    limit = _page_limit(req)
    merged = effective.requested(req)
    if merged and ('since' in req.GET or _wants_details(req)):
        # Each layer has a feed and details of its own; the merged view
        # has neither, and silently answering one layer's would mislead.
        raise errors.APIError(
            400, errors.BAD_REQUEST,
            'effective=true lists the merged names only; it does not go '
            'with since or detail=true (ask each layer with scope=).')
    if 'since' in req.GET:
        return feed.read_changes(req, limit)
    if merged:
        return _merged_listing(req, limit)
    detailed = _wants_details(req)
    marker = req.GET.get('marker')
    prefix = req.GET.get('prefix')
    # The cursor before the names: a client that reads what is listed and
    # then follows the feed from it misses no change made meanwhile.
    cursor = req.storage.feed_position(req.owner_id)
    if detailed:
        details = req.storage.list_container_details(
            req.owner_id, limit=limit + 1, marker=marker, prefix=prefix)
        names = [name for name, _meta in details]
    else:
        names = req.storage.list_containers(req.owner_id, limit=limit + 1,
                                            marker=marker, prefix=prefix)
    usage = req.storage.usage(req.owner_id)
    headers = {'X-Container-Count': str(usage.containers),
               'X-Bytes-Used': str(usage.bytes),
               feed.CURSOR_HEADER: feed.cursor_text(cursor)}
    quota = req.storage.quota
    if quota.containers is not None:
        headers['X-Container-Quota'] = str(quota.containers)
    if quota.bytes is not None:
        headers['X-Bytes-Quota'] = str(quota.bytes)
    if len(names) > limit:
        names = names[:limit]
        headers['Link'] = _next_link(req, limit, names[-1])
    listing = names
    if detailed:
        listing = [_detail(req, name, meta)
                   for name, meta in details[:limit]]
    # A detailed listing's ETag changes with any container in it.
    headers['ETag'] = conditional.listing_etag(listing)
    if conditional.not_modified(req, headers['ETag']):
        return responses.not_modified(headers)
    return responses.json_response(listing, headers)


def _next_link(req, limit, marker):
    """The Link to the next page, with the parameters that chose this
    one."""
    query = {key: value for key, value in req.GET.items()
             if key in _PAGE_PARAMETERS}
    query.update(limit=str(limit), marker=marker)
    return '<%s?%s>; rel="next"' % (req.path_url,
                                    urllib.parse.urlencode(query))


_PAGE_PARAMETERS = ('prefix', 'user_id', 'detail', 'scope', 'project_id',
                    'domain_id', 'effective')


def _merged_listing(req, limit):
    """``GET /v1?effective=true`` (1.4): the names of every layer."""
    names, more = effective.list_names(req, limit, req.GET.get('marker'),
                                       req.GET.get('prefix'))
    headers = {'ETag': conditional.listing_etag(names)}
    if more:
        headers['Link'] = _next_link(req, limit, names[-1])
    if conditional.not_modified(req, headers['ETag']):
        return responses.not_modified(headers)
    return responses.json_response(names, headers)


@policy_rule(rules.DELETE_ALL_CONTAINERS)
def delete_all_containers(req):
    return responses.no_content(
        req.storage.delete_all_containers(req.owner_id))


# /v1/{container} -------------------------------------------------------------

@policy_rule(rules.GET_CONTAINER)
def get_container(req, container):
    if effective.requested(req):
        return effective.read(req, container, ())
    watched = _watch(req, container)
    if req.method == 'HEAD' or conditional.is_conditional_read(req):
        # Revision, time and size tell; the value stays in the database.
        meta = req.storage.get_meta(req.owner_id, container)
        modified_at = meta.modified_us / 1e6
        headers = _validators(meta.revision, modified_at)
        headers.update(expiry.headers(req, meta.expires_at))
        if conditional.not_modified(req, headers['ETag'], modified_at):
            return _with_headers(responses.not_modified(headers), watched)
        if req.method == 'HEAD':
            return responses.head_response(meta.size, headers)
    read = req.storage.get_container(req.owner_id, container)
    return _with_headers(_read_answer(req, read), watched)


@write_handler(rules.WRITE_CONTAINER, creates=True)
def create_or_merge_container(req, precondition, container):
    return req.storage.merge(
        req.owner_id, container, _object_body(req, required=False),
        precondition=precondition, expiry=expiry.requested(req))


@write_handler(rules.WRITE_CONTAINER, creates=True)
def replace_container(req, precondition, container):
    return req.storage.replace(
        req.owner_id, container, _object_body(req, required=True),
        precondition=precondition, expiry=expiry.requested(req))


@write_handler(rules.WRITE_CONTAINER)
def patch_container(req, precondition, container):
    if req.api_version < microversion.JSON_PATCH:
        patch = _read_merge_patch(req)
    elif req.content_type == JSON_PATCH_TYPE:
        return req.storage.json_patch(
            req.owner_id, container, _read_json_patch(req),
            req.limits.max_depth, precondition=precondition,
            expiry=expiry.requested(req))
    else:
        patch = _read_merge_patch(req, (MERGE_PATCH_TYPE, JSON_PATCH_TYPE))
    _require_object(patch)
    body.check_depth(0, patch, req.limits.max_depth)
    return req.storage.merge_patch(
        req.owner_id, container, [], patch, precondition=precondition,
        expiry=expiry.requested(req))


@write_handler(rules.DELETE_CONTAINER)
def delete_container(req, precondition, container):
    return req.storage.delete_container(req.owner_id, container,
                                        precondition=precondition)


# /v1/{container}/{key path} --------------------------------------------------

@policy_rule(rules.GET_VALUE)
def get_value(req, container, key_path):
    if effective.requested(req):
        return effective.read(req, container, key_path)
    watched = _watch(req, container)
    read = req.storage.get_value(req.owner_id, container, key_path)
    return _with_headers(_read_answer(req, read), watched)


@write_handler(rules.SET_VALUE)
def set_value(req, precondition, container, key_path):
    value = _read_json(req, required=True)
    body.check_depth(len(key_path), value, req.limits.max_depth)
    return req.storage.set_value(
        req.owner_id, container, key_path, value, precondition=precondition,
        expiry=expiry.requested(req))


@write_handler(rules.SET_VALUE)
def patch_value(req, precondition, container, key_path):
    patch = _read_merge_patch(req)
    body.check_depth(len(key_path), patch, req.limits.max_depth)
    return req.storage.merge_patch(
        req.owner_id, container, key_path, patch, precondition=precondition,
        expiry=expiry.requested(req))


@write_handler(rules.DELETE_VALUE)
def delete_value(req, precondition, container, key_path):
    return req.storage.delete_value(req.owner_id, container, key_path,
                                    precondition=precondition)
