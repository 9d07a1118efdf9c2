"""Every call of the library against a real deployment behind Keystone
(see conftest.py for what it needs)."""

import os
import time

import pytest
from keystoneauth1 import exceptions as ksa_exceptions

from cloudprefsclient import client
from cloudprefsclient import exceptions


def test_seed_examples(prefs):
    etag = prefs.create('defaults')
    assert etag.startswith('"')
    prefs.merge('defaults', {'build_config': ['monitoring', 'backup']})
    prefs.set_value('defaults', 'passwords/root', 'secretpassword')
    assert list(prefs.list()) == ['defaults']
    assert prefs.get('defaults') == {
        'build_config': ['monitoring', 'backup'],
        'passwords': {'root': 'secretpassword'}}
    assert prefs.get('defaults', 'passwords/root') == 'secretpassword'
    prefs.delete('defaults', 'passwords/root')
    assert prefs.get('defaults', ['passwords']) == {}
    prefs.delete('defaults')
    with pytest.raises(exceptions.NotFound) as raised:
        prefs.get('defaults')
    assert raised.value.code == 'cloudprefs.not_found'
    assert raised.value.request_id.startswith('req-')
    assert prefs.last_request_id == raised.value.request_id


def test_endpoint_from_the_catalog_or_given(member_session, endpoint):
    found = client.Client(session=member_session).endpoint
    assert found == endpoint + '/v1/'
    for override in (endpoint, endpoint + '/', endpoint + '/v1'):
        prefs = client.Client(session=member_session,
                              endpoint_override=override)
        assert prefs.endpoint == endpoint + '/v1/'
        list(prefs.list())
    missing = client.Client(session=member_session,
                            service_type='no-such-service')
    with pytest.raises(ksa_exceptions.EndpointNotFound):
        missing.get('c')


def test_list_reads_every_page(prefs):
    names = ['c%02d' % number for number in range(7)] + ['other']
    for name in reversed(names):
        prefs.create(name)
    assert list(prefs.list(page_size=2)) == names
    assert list(prefs.list(prefix='c', page_size=3)) == names[:7]
    assert list(prefs.list(limit=3, page_size=2)) == names[:3]
    assert list(prefs.list(marker='c05')) == names[6:]
    assert list(prefs.list(prefix='nothing')) == []


def test_replace_merge_and_merge_patch(prefs):
    prefs.replace('c', {'a': {'x': 1}, 'b': 1})
    prefs.merge('c', {'a': {'y': 2}})
    assert prefs.get('c') == {'a': {'y': 2}, 'b': 1}
    prefs.merge_patch('c', {'a': {'z': 3}, 'b': None})
    assert prefs.get('c') == {'a': {'y': 2, 'z': 3}}
    prefs.merge_patch('c', {'z': None, 'n': [1]}, path='a')
    assert prefs.get('c', 'a') == {'y': 2, 'n': [1]}
    prefs.replace('c', {'only': None})
    assert prefs.get('c') == {'only': None}


@pytest.mark.parametrize('value', [None, False, 0, '', {}, [], 1.5,
                                   -9223372036854775808, 'é🦄'])
def test_any_json_value(prefs, value):
    prefs.set_value('c', ['k'], value)
    assert prefs.get('c', 'k') == value


def test_keys_with_slashes_and_percent(prefs):
    prefs.set_value('a/b', ['x/y', '100%'], True)
    assert prefs.get('a/b') == {'x/y': {'100%': True}}
    assert prefs.get('a/b', 'x%2Fy/100%25') is True
    assert list(prefs.list()) == ['a/b']


def test_stat_and_usage(prefs):
    etag = prefs.replace('c', {'a': 1})
    stat = prefs.stat('c')
    assert stat.bytes == len('{"a":1}')
    assert stat.etag == etag
    assert stat.last_modified
    usage = prefs.usage()
    assert usage.containers == 1
    assert usage.bytes == len('{"a":1}')
    assert usage.container_quota == int(
        os.environ['CLOUDPREFS_TEST_CONTAINER_QUOTA'])
    assert usage.bytes_quota > 0


def test_conditional_writes(prefs):
    first = prefs.merge('c', {'n': 1})
    _, etag = prefs.get_with_etag('c')
    assert etag == first
    second = prefs.set_value('c', 'n', 2, if_match=etag.strip('"'))
    assert second != first
    for write in (lambda: prefs.set_value('c', 'n', 3, if_match=first),
                  lambda: prefs.merge_patch('c', {'n': 3}, if_match=first),
                  lambda: prefs.replace('c', {}, if_match=first),
                  lambda: prefs.delete('c', 'n', if_match=first),
                  lambda: prefs.delete('c', if_match=first),
                  lambda: prefs.create('c', if_not_exists=True),
                  lambda: prefs.set_value('new', 'n', 1, if_match='*')):
        with pytest.raises(exceptions.PreconditionFailed) as raised:
            write()
        assert raised.value.code == 'cloudprefs.precondition_failed'
    assert prefs.get_with_etag('c') == ({'n': 2}, second)
    # Deleting what is not there changes nothing: the ETag stays.
    assert prefs.delete('c', 'missing', if_match=second) == second


def test_typed_errors(prefs):
    prefs.merge('c', {'list': [1]})
    with pytest.raises(exceptions.Conflict) as conflict:
        prefs.set_value('c', 'list/0', 1)
    assert conflict.value.code == 'cloudprefs.path_conflict'
    with pytest.raises(exceptions.BadRequest) as bad:
        prefs.get('c', ['nul\x00'])
    assert bad.value.code == 'cloudprefs.invalid_path'
    size = int(os.environ['CLOUDPREFS_TEST_MAX_CONTAINER_SIZE'])
    with pytest.raises(exceptions.RequestTooLarge) as large:
        prefs.set_value('c', 'big', 'x' * size)
    assert large.value.status == 413
    assert prefs.get('c') == {'list': [1]}
    with pytest.raises(ValueError):
        prefs.replace('c', {'nan': float('nan')})


def test_container_quota(prefs):
    quota = int(os.environ['CLOUDPREFS_TEST_CONTAINER_QUOTA'])
    for number in range(quota):
        prefs.create('q%03d' % number)
    with pytest.raises(exceptions.QuotaExceeded) as raised:
        prefs.create('one-too-many')
    assert isinstance(raised.value, exceptions.Forbidden)
    assert raised.value.code == 'cloudprefs.quota_exceeded'
    assert prefs.usage().containers == quota


def test_users_are_isolated_and_admins_act_for_them(prefs, alt_prefs,
                                                    admin_prefs,
                                                    member_session):
    prefs.merge('c', {'owner': 'member'})
    assert list(alt_prefs.list()) == []
    with pytest.raises(exceptions.NotFound):
        alt_prefs.get('c')
    member_id = member_session.get_user_id()
    with pytest.raises(exceptions.Forbidden) as refused:
        alt_prefs.get('c', user_id=member_id)
    assert refused.value.code == 'cloudprefs.forbidden'
    with pytest.raises(exceptions.Forbidden):
        alt_prefs.delete_all(user_id=member_id)
    assert admin_prefs.get('c', user_id=member_id) == {'owner': 'member'}
    admin_prefs.set_value('c', 'by', 'admin', user_id=member_id)
    assert list(admin_prefs.list(user_id=member_id)) == ['c']
    assert admin_prefs.usage(user_id=member_id).containers == 1
    admin_prefs.delete_all(user_id=member_id)
    assert list(prefs.list()) == []


def test_changes_follow_the_feed(prefs):
    start = prefs.cursor()
    prefs.create('a')
    etag_b = prefs.set_value('b', 'k', 1)
    assert prefs.last_cursor is not None
    prefs.delete('a')
    page = prefs.changes(since=start)
    assert page.changes == [client.Change('b', etag_b, False),
                            client.Change('a', None, True)]
    assert page.more is False
    assert prefs.changes(since=page.cursor) == client.Changes(
        [], page.cursor, False)
    first = prefs.changes(since=start, limit=1)
    assert first.more and len(first.changes) == 1
    # A long-poll that times out answers an empty page, same cursor.
    assert prefs.changes(since=page.cursor, wait=1).changes == []
    with pytest.raises(exceptions.CursorExpired) as raised:
        prefs.changes(since=str(int(page.cursor) + 1000))
    assert raised.value.code == 'cloudprefs.cursor_expired'


def test_follow_yields_changes_as_they_come(prefs):
    import concurrent.futures
    cursor = prefs.cursor()
    followed = prefs.follow(since=cursor, wait=10)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(next, followed)
        prefs.set_value('news', 'k', 'v')
        assert first.result(timeout=30).container == 'news'


def test_watch_waits_for_a_new_revision(prefs):
    import concurrent.futures
    etag = prefs.merge('watched', {'v': 1})
    assert prefs.watch('watched', etag, wait=1) is None
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        held = pool.submit(prefs.watch, 'watched', etag, 'v', 15)
        newer = prefs.set_value('watched', 'v', 2)
        assert held.result(timeout=30) == (2, newer)


def test_the_newest_version_is_negotiated_and_json_patch_works(
        prefs, member_session):
    assert prefs.api_version == client.API_MICROVERSIONS[-1]
    prefs.replace('c', {'a': 1, 'list': []})
    etag = prefs.json_patch('c', [
        {'op': 'replace', 'path': '/a', 'value': 2},
        {'op': 'add', 'path': '/list/-', 'value': 'x'}])
    assert prefs.get_with_etag('c') == ({'a': 2, 'list': ['x']}, etag)
    with pytest.raises(exceptions.Conflict) as raised:
        prefs.json_patch('c', [{'op': 'remove', 'path': '/a'},
                               {'op': 'test', 'path': '/a', 'value': 2}])
    assert raised.value.code == 'cloudprefs.patch_conflict'
    with pytest.raises(exceptions.PreconditionFailed):
        prefs.json_patch('c', [], if_match='"1"')
    assert prefs.get('c') == {'a': 2, 'list': ['x']}
    pinned = client.Client(session=member_session, api_version='1.0')
    with pytest.raises(exceptions.VersionNotAvailable):
        pinned.json_patch('c', [])
    assert pinned.get('c') == {'a': 2, 'list': ['x']}


def test_the_detailed_listing_matches_stat(prefs):
    for name in ('d1', 'd2', 'other'):
        prefs.merge(name, {'n': name})
    details = list(prefs.list_details(prefix='d', page_size=1))
    assert [detail.name for detail in details] == ['d1', 'd2']
    for detail in details:
        stat = prefs.stat(detail.name)
        assert (detail.bytes, detail.etag) == (stat.bytes, stat.etag)
        assert detail.last_modified.endswith('Z')


def test_a_container_expires(prefs):
    prefs.merge('brief', {'a': 1}, expiry=client.Expiry.after(3600))
    stat = prefs.stat('brief')
    assert stat.delete_at is not None
    (detail,) = list(prefs.list_details(prefix='brief'))
    assert detail.expires_at.endswith('Z')
    prefs.merge('brief', {}, expiry=client.Expiry.NEVER)
    assert prefs.stat('brief').delete_at is None
    prefs.merge('brief', {}, expiry=client.Expiry.after(1))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            prefs.get('brief')
        except exceptions.NotFound:
            break
        time.sleep(0.2)
    else:
        raise AssertionError('the container did not expire')
    assert 'brief' not in list(prefs.list())
