"""The storage contract: every driver runs this suite unchanged.

A test module defines two fixtures, ``driver_factory`` (a
:class:`tests.support.config.DriverFactory` on a fresh, empty store: each
call, with [quota] options as keywords, makes another driver on that
store) and ``unavailable_driver`` (a driver whose database cannot be
reached), and a class that inherits :class:`StorageContract`. A new driver
is done when the suite passes. Drivers that talk to a server over the
network also inherit :class:`NetworkFaultContract`.

Every test runs twice: with the storage layers as deployed (the
write-guess cache on, the default quotas); and with the cache and quotas
off and every container of a SQL driver path-indexed (see
:mod:`cloudprefs.storage.path_index`), so that nothing works only because
of a layer, writes are tested with and without usage accounting, and the
path index is read by every path test.
"""

import concurrent.futures
import time

import pytest

from cloudprefs.storage import document
from cloudprefs.storage import exceptions
from cloudprefs.storage import owners
from cloudprefs.storage import path_index
from cloudprefs.storage import records
from cloudprefs.storage.records import Expiry
from cloudprefs.storage.records import Precondition
from tests.support.config import canonical

ODD_KEYS = ['', '.', '..', 'a.b', '.a', 'a.', '$', '$set', '$where', 'a$b',
            '\x00', 'a\x00b', '%', '%2E', '%25', '%%', 'é', 'e\u0301',
            '🦄', '日本語', 'Key', 'key', 'key ', ' key', 'KEY', '_id',
            "'; DROP TABLE containers; --", '"', '\\', '\n', 'a/b']

ODD_VALUES = [
    0, -1, 1, 2 ** 63 - 1, -2 ** 63, 2 ** 53 + 1, 0.1, -0.0, 1.0, 1e308,
    5e-324, 1.7976931348623157e308, True, False, None, '', 'x' * 1000,
    '\x00', '🦄 é \u2028', [], {}, [None, True, 1, 1.0, 'a', [], {}],
    {'a': {'b': {'c': [1, {'d': None}]}}}]

USER = 'user-a'
OTHER = 'user-ab'   # shares a prefix with USER


def same(actual, expected):
    return canonical(actual) == canonical(expected)


UNLIMITED = {'containers_per_user': -1, 'bytes_per_user': -1}
LAYERS = {
    'as-deployed': {'cache': 10000, 'quota': {}, 'index_from_bytes': None},
    'no-cache-no-quota-index-all': {'cache': 0, 'quota': UNLIMITED,
                                    'index_from_bytes': 1},
}


class StorageContract:

    @pytest.fixture(autouse=True, params=sorted(LAYERS))
    def layers(self, request, driver_factory, monkeypatch):
        layers = LAYERS[request.param]
        driver_factory.database['recent_containers_cache_size'] = \
            layers['cache']
        driver_factory.quota.update(layers['quota'])
        if layers['index_from_bytes'] is not None:
            # Every container, however small its members.
            monkeypatch.setattr(path_index, 'INDEX_FROM_BYTES',
                                layers['index_from_bytes'])
            monkeypatch.setattr(path_index, 'BYTES_PER_ENTRY', 1)
        return request.param

    @pytest.fixture
    def driver(self, driver_factory):
        return driver_factory()

    # Containers --------------------------------------------------------------

    def test_new_user_has_no_containers(self, driver):
        assert driver.list_containers(USER) == []

    def test_missing_container_is_not_found(self, driver):
        with pytest.raises(exceptions.NotFound):
            driver.get_container(USER, 'missing')

    def test_empty_merge_creates_empty_container(self, driver):
        driver.merge(USER, 'defaults', {})
        assert driver.get_container(USER, 'defaults').value == {}
        assert driver.list_containers(USER) == ['defaults']

    def test_names_listed_in_code_point_order(self, driver):
        names = ['b', 'a', 'B', 'é', '𝄞', '\uffff', 'a b', 'aa', 'a', 'Z',
                 '~', 'ä', '$cmd', 'system.users', '.', '%2F']
        for name in names:
            driver.merge(USER, name, {})
        assert driver.list_containers(USER) == sorted(set(names))

    def test_merge_replaces_top_level_keys_only(self, driver):
        driver.merge(USER, 'c', {'a': {'x': 1}, 'b': 2})
        driver.merge(USER, 'c', {'a': {'y': 2}, 'c': 3})
        assert same(driver.get_container(USER, 'c').value,
                    {'a': {'y': 2}, 'b': 2, 'c': 3})

    def test_delete_container(self, driver):
        driver.merge(USER, 'c', {'a': 1})
        driver.merge(USER, 'd', {})
        driver.delete_container(USER, 'c')
        assert driver.list_containers(USER) == ['d']
        with pytest.raises(exceptions.NotFound):
            driver.get_container(USER, 'c')

    def test_delete_missing_container_is_not_an_error(self, driver):
        driver.delete_container(USER, 'missing')
        assert driver.list_containers(USER) == []

    def test_delete_user(self, driver):
        driver.merge(USER, 'c', {'a': 1})
        driver.merge(USER, 'd', {})
        driver.merge(OTHER, 'c', {'b': 1})
        assert driver.delete_user(USER) == 2
        assert driver.list_containers(USER) == []
        assert driver.list_containers(OTHER) == ['c']
        assert driver.usage(USER) == (0, 0)
        assert driver.delete_user(USER) == 0

    def test_list_users(self, driver):
        assert driver.list_users() == []
        for user in (OTHER, USER, 'é', 'z'):
            driver.merge(user, 'c', {})
        driver.merge(USER, 'd', {})
        assert driver.list_users() == sorted([OTHER, USER, 'é', 'z'])
        driver.delete_user('é')
        assert driver.list_users() == sorted([OTHER, USER, 'z'])

    def test_a_layer_is_kept_apart_and_never_listed_as_a_user(self, driver):
        project = owners.Owner(owners.PROJECT, USER).key
        domain = owners.Owner(owners.DOMAIN, 'd').key
        cloud = owners.Owner(owners.CLOUD, None).key
        driver.merge(USER, 'c', {'user': 1})
        for key in (project, domain, cloud):
            driver.merge(key, 'c', {'layer': key})
        assert driver.get_container(USER, 'c').value == {'user': 1}
        assert driver.get_container(project, 'c').value == {
            'layer': project}
        assert driver.usage(project).containers == 1
        assert driver.usage(USER).containers == 1
        assert driver.list_users() == [USER]
        assert driver.list_layers(owners.PROJECT) == [USER]
        assert driver.list_layers(owners.DOMAIN) == ['d']
        assert driver.delete_user(project) == 1
        assert driver.list_layers(owners.PROJECT) == []
        assert driver.get_container(USER, 'c').value == {'user': 1}
        assert driver.get_container(cloud, 'c').value == {'layer': cloud}

    # Change feed -------------------------------------------------------------

    @staticmethod
    def _feed(driver, user=USER, cursor=0, limit=1000):
        page = driver.changes_since(user, cursor, limit)
        return [(entry.container, entry.revision) for entry in page.changes]

    def test_feed_holds_each_container_once_at_its_latest_change(
            self, driver):
        assert driver.changes_since(USER, 0, 10) == ([], 0, False)
        a = driver.merge(USER, 'a', {'k': 1})
        b = driver.merge(USER, 'b', {})
        a2 = driver.set_value(USER, 'a', ['k'], 2)
        assert 0 < a.position < b.position < a2.position
        page = driver.changes_since(USER, 0, 10)
        assert [tuple(entry) for entry in page.changes] == [
            ('b', b.revision, b.position), ('a', a2.revision, a2.position)]
        assert (page.cursor, page.more) == (a2.position, False)
        assert driver.feed_position(USER) == a2.position
        # Nothing after the cursor; the cursor stays.
        assert driver.changes_since(USER, page.cursor, 10) == (
            [], page.cursor, False)
        assert self._feed(driver, cursor=b.position) == [('a', a2.revision)]

    def test_writes_that_change_nothing_take_no_position(self, driver):
        written = driver.merge(USER, 'c', {'a': 1})
        position = driver.feed_position(USER)
        for write in (lambda: driver.merge(USER, 'c', {'a': 1}),
                      lambda: driver.delete_value(USER, 'c', ['missing']),
                      lambda: driver.delete_value(USER, 'missing', ['a']),
                      lambda: driver.delete_container(USER, 'missing')):
            assert write().position is None
        assert driver.delete_all_containers(OTHER).position is None
        assert driver.feed_position(USER) == position == written.position

    def test_deletions_leave_tombstones(self, driver):
        driver.merge(USER, 'a', {})
        driver.merge(USER, 'b', {'x': 1})
        driver.merge(USER, 'c', {})
        deleted = driver.delete_container(USER, 'a')
        assert deleted.revision is None and deleted.position > 0
        assert self._feed(driver)[-1] == ('a', None)
        page = driver.changes_since(USER, 0, 10)
        assert page.changes[-1].deleted and page.cursor == deleted.position
        # Deleting everything: a tombstone each, at positions of their own.
        everything = driver.delete_all_containers(USER)
        feed = driver.changes_since(USER, page.cursor, 10)
        assert sorted((entry.container, entry.revision)
                      for entry in feed.changes) == [('b', None),
                                                     ('c', None)]
        assert len({entry.position for entry in feed.changes}) == 2
        assert feed.cursor == everything.position
        # A container made again appears once, not deleted.
        again = driver.merge(USER, 'a', {'new': True})
        assert self._feed(driver, cursor=feed.cursor) == [
            ('a', again.revision)]
        assert ('a', None) not in self._feed(driver)

    def test_feed_pages_follow_positions(self, driver):
        for index in range(7):
            driver.merge(USER, 'c%d' % index, {})
        driver.set_value(USER, 'c0', ['k'], 1)
        seen, cursor, pages = [], 0, 0
        while True:
            page = driver.changes_since(USER, cursor, 3)
            assert len(page.changes) <= 3
            seen.extend(entry.container for entry in page.changes)
            cursor, pages = page.cursor, pages + 1
            if not page.more:
                break
        assert seen == ['c%d' % index for index in range(1, 7)] + ['c0']
        assert pages == 3
        assert cursor == driver.feed_position(USER)

    def test_feeds_are_per_user(self, driver):
        driver.merge(USER, 'mine', {})
        driver.merge(OTHER, 'theirs', {})
        driver.delete_all_containers(OTHER)
        assert self._feed(driver) == [
            ('mine', driver.get_meta(USER, 'mine').revision)]
        assert self._feed(driver, user=OTHER) == [('theirs', None)]
        assert driver.feed_positions([USER, OTHER, 'nobody']) == {
            USER: 1, OTHER: 2}

    def test_a_cursor_ahead_of_the_feed_is_refused(self, driver):
        driver.merge(USER, 'c', {})
        with pytest.raises(exceptions.CursorExpired):
            driver.changes_since(USER, 2, 10)
        with pytest.raises(exceptions.CursorExpired):
            driver.changes_since(OTHER, 1, 10)

    def test_a_purge_expires_every_earlier_cursor(self, driver):
        """The purge took the tombstones: a cursor from before it would
        skip the deletions (and, once new writes pass it, the changes
        after it); refused, the reader reads everything again."""
        driver.merge(USER, 'c', {})
        driver.merge(USER, 'd', {})
        driver.delete_container(USER, 'c')
        before = driver.feed_position(USER)
        assert driver.delete_user(USER) == 1
        after = driver.feed_position(USER)
        assert after > before
        for cursor in range(1, before + 1):
            with pytest.raises(exceptions.CursorExpired):
                driver.changes_since(USER, cursor, 10)
        assert driver.changes_since(USER, 0, 10) == ([], after, False)
        assert driver.changes_since(USER, after, 10) == ([], after, False)
        for _ in range(before + 1):
            driver.merge(USER, 'new', {'n': 1})
        with pytest.raises(exceptions.CursorExpired):
            driver.changes_since(USER, before, 10)
        assert [change.container for change in driver.changes_since(
            USER, after, 10).changes] == ['new']
        assert driver.list_users() == [USER]
        driver.delete_user(USER)
        assert driver.list_users() == []

    def test_old_tombstones_expire_and_old_cursors_with_them(self, driver):
        driver.merge(USER, 'kept', {})
        gone = driver.merge(USER, 'gone', {})
        deleted = driver.delete_container(USER, 'gone')
        driver.merge(OTHER, 'x', {})
        driver.delete_container(OTHER, 'x')
        assert driver.expire_tombstones(3600) == 0     # too young
        time.sleep(0.01)
        assert driver.expire_tombstones(0.005) == 2
        assert self._feed(driver) == [
            ('kept', driver.get_meta(USER, 'kept').revision)]
        # A reader behind the dropped tombstone has to start again; one at
        # it, or at 0, goes on.
        with pytest.raises(exceptions.CursorExpired):
            driver.changes_since(USER, gone.position, 10)
        assert driver.changes_since(USER, deleted.position, 10) == (
            [], deleted.position, False)
        assert len(driver.changes_since(USER, 0, 10).changes) == 1
        assert driver.expire_tombstones(0) == 0

    def test_tombstones_past_the_bound_are_dropped(self, driver):
        """Tombstones count in no quota: a user who creates and deletes
        containers in a loop leaves only the newest ``max_per_user``."""
        positions = []
        for index in range(7):
            driver.merge(USER, 'c%d' % index, {})
            positions.append(driver.delete_container(
                USER, 'c%d' % index).position)
        driver.merge(USER, 'kept', {})
        driver.merge(OTHER, 'x', {})
        driver.delete_container(OTHER, 'x')
        assert driver.expire_tombstones(3600, max_per_user=3) == 4
        assert [name for name, _revision, _seq in
                driver.changes_since(USER, 0, 100).changes] == [
            'c4', 'c5', 'c6', 'kept']
        with pytest.raises(exceptions.CursorExpired):
            driver.changes_since(USER, positions[2], 10)
        assert [change.container for change in driver.changes_since(
            USER, positions[3], 10).changes] == ['c4', 'c5', 'c6', 'kept']
        assert len(driver.changes_since(OTHER, 0, 10).changes) == 1
        assert driver.expire_tombstones(3600, max_per_user=3) == 0
        assert driver.expire_tombstones(3600) == 0

    def test_feed_followed_while_writers_write_misses_nothing(self, driver):
        names = ['c%d' % index for index in range(6)]
        done = []

        def write(index):
            name = names[index % len(names)]
            if index % 5 == 4:
                driver.delete_container(USER, name)
            else:
                driver.set_value(USER, name, ['k%d' % index], index)

        def follow():
            state, cursor, last = {}, 0, 0
            while True:
                finished = bool(done)
                page = driver.changes_since(USER, cursor, 7)
                for entry in page.changes:
                    assert entry.position > last    # in order, no repeat
                    last = entry.position
                    state[entry.container] = entry.revision
                assert page.cursor >= cursor
                cursor = page.cursor
                if finished and not page.more:
                    return state

        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            follower = pool.submit(follow)
            list(pool.map(write, range(120)))
            done.append(True)
            state = follower.result(timeout=60)
        final = {name: driver.get_meta(USER, name).revision
                 for name in driver.list_containers(USER)}
        assert {name: revision for name, revision in state.items()
                if revision is not None} == final

    # Change listeners --------------------------------------------------------

    def test_every_durable_change_is_announced_once(self, driver):
        seen = []
        driver.add_change_listener(seen.append)
        created = driver.merge(USER, 'c', {'a': 1}).revision
        updated = driver.set_value(USER, 'c', ['b'], [1]).revision
        driver.merge(USER, 'c', {'a': 1})             # changes nothing
        driver.delete_value(USER, 'c', ['missing'])   # changes nothing
        driver.delete_container(USER, 'missing')      # changes nothing
        driver.delete_container(USER, 'c')
        driver.merge(USER, 'd', {})
        driver.merge(USER, 'e', {})
        driver.delete_user(USER)
        driver.delete_user(USER)                      # nothing left
        assert [tuple(change)[:6] for change in seen] == [
            ('create', USER, 'c', created, len('{"a":1}'), 1),
            ('update', USER, 'c', updated, len('{"a":1,"b":[1]}'), 1),
            ('delete', USER, 'c', None, 0, 1),
            ('create', USER, 'd', seen[3].revision, 2, 1),
            ('create', USER, 'e', seen[4].revision, 2, 1),
            ('purge', USER, None, None, 0, 2)]

    def test_a_failing_listener_never_fails_the_write(self, driver):
        def broken(change):
            raise RuntimeError('listener bug')
        seen = []
        driver.add_change_listener(broken)
        driver.add_change_listener(seen.append)
        driver.merge(USER, 'c', {'a': 1})
        assert same(driver.get_container(USER, 'c').value, {'a': 1})
        assert [change.action for change in seen] == ['create']

    # Key paths ---------------------------------------------------------------

    def test_set_value_creates_container_and_intermediates(self, driver):
        driver.set_value(USER, 'defaults', ['passwords', 'root'], 'secret')
        assert same(driver.get_container(USER, 'defaults').value,
                    {'passwords': {'root': 'secret'}})

    def test_set_value_replaces(self, driver):
        driver.set_value(USER, 'c', ['a'], {'deep': [1, 2]})
        driver.set_value(USER, 'c', ['a'], 'flat')
        assert same(driver.get_container(USER, 'c').value, {'a': 'flat'})

    @pytest.mark.parametrize('blocker', [[1], 'text', 0, 1.5, True, False,
                                         None])
    def test_set_value_through_non_object_conflicts(self, driver, blocker):
        driver.set_value(USER, 'c', ['a', 'b'], blocker)
        before = driver.get_container(USER, 'c')
        with pytest.raises(exceptions.PathConflict):
            driver.set_value(USER, 'c', ['a', 'b', 'x'], 1)
        after = driver.get_container(USER, 'c')
        assert same(after.value, before.value)
        assert after.revision == before.revision

    @pytest.mark.parametrize('value', ODD_VALUES, ids=repr)
    def test_get_value_returns_any_json(self, driver, value):
        driver.set_value(USER, 'c', ['k'], value)
        read = driver.get_value(USER, 'c', ['k'])
        assert same(read.value, value)
        assert read.revision == driver.get_container(USER, 'c').revision

    @pytest.mark.parametrize('path', [['missing'], ['a', 'missing'],
                                      ['a', 'b', 'c'], ['s', 'x'],
                                      ['l', '0']])
    def test_get_value_not_found(self, driver, path):
        driver.merge(USER, 'c', {'a': {'b': 1}, 's': 'str', 'l': [1]})
        with pytest.raises(exceptions.NotFound):
            driver.get_value(USER, 'c', path)

    def test_delete_value_keeps_parent(self, driver):
        driver.merge(USER, 'c', {'a': {'b': 1, 'c': 2}})
        driver.delete_value(USER, 'c', ['a', 'b'])
        driver.delete_value(USER, 'c', ['a', 'c'])
        assert same(driver.get_container(USER, 'c').value, {'a': {}})

    @pytest.mark.parametrize('path', [['missing'], ['a', 'missing'],
                                      ['s', 'x'], ['a', 'b', 'x']])
    def test_delete_missing_value_is_a_no_op(self, driver, path):
        driver.merge(USER, 'c', {'a': {'b': 1}, 's': 'str'})
        driver.delete_value(USER, 'c', path)
        assert same(driver.get_container(USER, 'c').value,
                    {'a': {'b': 1}, 's': 'str'})

    def test_delete_value_of_missing_container_creates_nothing(self, driver):
        assert driver.delete_value(USER, 'missing', ['a']).revision is None
        assert driver.list_containers(USER) == []

    # SQL: an index of every member; no index, as the members of 'big'
    # would overflow its room; no index, as the top-level ones would.
    @pytest.mark.parametrize('index', ['whole', 'nested-too-many',
                                       'too-many'])
    def test_a_path_read_is_byte_for_byte_the_whole_read(
            self, driver, index, monkeypatch):
        value = {key: {key: [{key: index}], 'n': ODD_VALUES}
                 for index, key in enumerate(ODD_KEYS)}
        value['big'] = {'m%04d' % i: {'v': i, 'pad': 'é' * 40}
                        for i in range(2000)}
        size = len(document.compact_json(value).encode())
        if index != 'whole':
            members = len(value) + (1000 if index == 'nested-too-many'
                                    else -1)
            monkeypatch.setattr(path_index, 'BYTES_PER_ENTRY',
                                size // members)
        driver.merge(USER, 'c', value)
        whole = driver.get_container(USER, 'c')
        paths = [[key] for key in ODD_KEYS] + [
            [key, key] for key in ODD_KEYS] + [
            [key, 'n'] for key in ODD_KEYS] + [
            ['big'], ['big', 'm0000'], ['big', 'm1999', 'pad'],
            ['big', 'm1999', 'v']]
        for path in paths:
            read = driver.get_value(USER, 'c', path)
            assert read.text == document.compact_json(
                document.get_at_path(whole.value, path)), path
            assert read.text == document.text_at_path(whole.text, path)
            assert read.revision == whole.revision
        for path in (['big', 'missing'], ['big', 'm0001', 'missing'],
                     ['missing', 'big'], ['a.b', 'a.b', '0'],
                     ['a.b', 'n', '0'], ['big', 'm0001', 'v', 'x']):
            with pytest.raises(exceptions.NotFound):
                driver.get_value(USER, 'c', path)

    def test_path_reads_follow_writes(self, driver):
        driver.merge(USER, 'c', {'m%04d' % i: 'v' * 50 for i in range(2000)})
        for number in range(3):
            driver.set_value(USER, 'c', ['m1000'], {'n': number})
            driver.merge(USER, 'c', {'m0000': number, 'new%d' % number: 1})
            driver.delete_value(USER, 'c', ['m0500'])
            assert driver.get_value(USER, 'c', ['m1000', 'n']).value == \
                number
            assert driver.get_value(USER, 'c', ['m0000']).value == number
            assert driver.get_value(USER, 'c', ['new%d' % number]).value \
                == 1
            assert driver.get_value(USER, 'c', ['m1999']).value == 'v' * 50
            with pytest.raises(exceptions.NotFound):
                driver.get_value(USER, 'c', ['m0500'])

    def test_meta_without_the_value(self, driver):
        revision = driver.merge(USER, 'c', {'é': [1, 2]}).revision  # 12 B
        meta = driver.get_meta(USER, 'c')
        container = driver.get_container(USER, 'c')
        assert (meta.revision, meta.size) == (revision, 12)
        assert meta.modified_us == container.modified_us
        assert len(container.text.encode('utf-8')) == meta.size
        with pytest.raises(exceptions.NotFound):
            driver.get_meta(USER, 'missing')

    # Round trips -------------------------------------------------------------

    def test_odd_keys_round_trip_at_every_level(self, driver):
        value = {key: {key: [{key: index}]}
                 for index, key in enumerate(ODD_KEYS)}
        driver.merge(USER, 'c', value)
        assert same(driver.get_container(USER, 'c').value, value)
        for index, key in enumerate(ODD_KEYS):
            found = driver.get_value(USER, 'c', [key, key]).value
            assert same(found, [{key: index}])

    def test_odd_keys_as_paths(self, driver):
        for index, key in enumerate(ODD_KEYS):
            if key:
                driver.set_value(USER, 'c', [key, key], index)
        for index, key in enumerate(ODD_KEYS):
            if key:
                found = driver.get_value(USER, 'c', [key, key]).value
                assert found == index
        driver.delete_value(USER, 'c', ['a.b', 'a.b'])
        assert driver.get_value(USER, 'c', ['a.b']).value == {}

    def test_odd_values_round_trip_in_container(self, driver):
        value = {'v%d' % i: v for i, v in enumerate(ODD_VALUES)}
        driver.merge(USER, 'c', value)
        assert same(driver.get_container(USER, 'c').value, value)

    def test_odd_names_and_users_are_distinct(self, driver):
        for index, name in enumerate(ODD_KEYS):
            if name:
                driver.merge(USER, name, {'i': index})
        for index, name in enumerate(ODD_KEYS):
            if name:
                assert driver.get_container(USER, name).value == {'i': index}
        for user in ('u', 'U', 'u ', 'u.x', '$u', "u'--", 'ü'):
            driver.merge(user, 'c', {'owner': user})
        for user in ('u', 'U', 'u ', 'u.x', '$u', "u'--", 'ü'):
            assert driver.get_container(user, 'c').value == {'owner': user}
            assert driver.list_containers(user) == ['c']

    # Isolation ---------------------------------------------------------------

    def test_users_are_isolated(self, driver):
        driver.merge(USER, 'shared', {'mine': 1})
        driver.set_value(OTHER, 'shared', ['theirs'], 2)
        assert driver.get_container(USER, 'shared').value == {'mine': 1}
        assert driver.get_container(OTHER, 'shared').value == {'theirs': 2}
        driver.delete_value(OTHER, 'shared', ['mine'])
        driver.delete_container(OTHER, 'shared')
        assert driver.get_container(USER, 'shared').value == {'mine': 1}
        assert driver.list_containers(OTHER) == []
        with pytest.raises(exceptions.NotFound):
            driver.get_container('user', 'shared')

    # Revisions ---------------------------------------------------------------

    def test_every_change_gives_a_new_revision(self, driver):
        revisions = [driver.merge(USER, 'c', {})]
        revisions.append(driver.set_value(USER, 'c', ['a'], 1))
        revisions.append(driver.set_value(USER, 'c', ['a'], 1.0))
        revisions.append(driver.set_value(USER, 'c', ['a'], True))
        revisions.append(driver.merge(USER, 'c', {'b': [1]}))
        revisions.append(driver.merge_patch(USER, 'c', [], {'b': None}))
        revisions.append(driver.delete_value(USER, 'c', ['a']))
        positions = [written.position for written in revisions]
        assert positions == sorted(set(positions))
        revisions = [written.revision for written in revisions]
        assert revisions == sorted(set(revisions))
        container = driver.get_container(USER, 'c')
        assert container.revision == revisions[-1]
        assert container.value == {}
        assert abs(container.modified_at - time.time()) < 60

    def test_a_write_that_changes_nothing_stores_nothing(self, driver):
        revision = driver.merge(USER, 'c', {'a': {'x': 1}, 'b': 1.0}).revision
        modified_at = driver.get_container(USER, 'c').modified_at
        for write in (
                lambda: driver.merge(USER, 'c', {}),
                lambda: driver.merge(USER, 'c', {'b': 1.0}),
                lambda: driver.set_value(USER, 'c', ['a', 'x'], 1),
                lambda: driver.delete_value(USER, 'c', ['missing']),
                lambda: driver.delete_value(USER, 'c', ['a', 'y']),
                lambda: driver.delete_value(USER, 'c', ['b', 'through']),
                lambda: driver.merge_patch(USER, 'c', [], {'z': None}),
                lambda: driver.merge_patch(USER, 'c', ['a'], {'x': 1}),
                lambda: driver.set_value(USER, 'c', ['a'], {'x': 1},
                                         precondition=Precondition(
                                             {revision}))):
            assert write() == (revision, None)
        container = driver.get_container(USER, 'c')
        assert container.revision == revision
        assert container.modified_at == modified_at
        # Equal in Python is not equal in JSON: 1 is not 1.0.
        assert driver.set_value(USER, 'c', ['b'], 1).revision > revision

    def test_a_write_that_changes_nothing_is_judged_on_what_is_stored(
            self, driver_factory):
        first, second = driver_factory(), driver_factory()
        first.set_value(USER, 'c', ['a'], 1)
        second.set_value(USER, 'c', ['a'], 2)
        # To ``first``'s memory this changes nothing; it does.
        first.set_value(USER, 'c', ['a'], 1)
        assert second.get_container(USER, 'c').value == {'a': 1}

    def test_recreated_container_gets_a_new_revision(self, driver):
        first = driver.merge(USER, 'c', {}).revision
        driver.delete_container(USER, 'c')
        assert driver.merge(USER, 'c', {}).revision > first

    # Limits ------------------------------------------------------------------

    def test_too_large_write_stores_nothing(self, driver):
        limit = driver.max_container_size
        driver.set_value(USER, 'c', ['small'], 'x')
        before = driver.get_container(USER, 'c')
        with pytest.raises(exceptions.TooLarge):
            driver.set_value(USER, 'c', ['big'], 'x' * limit)
        with pytest.raises(exceptions.TooLarge):
            driver.merge(USER, 'new', {'big': 'x' * limit})
        assert same(driver.get_container(USER, 'c').value, before.value)
        assert driver.list_containers(USER) == ['c']

    def test_size_counts_utf8_bytes_of_compact_json(self, driver):
        limit = driver.max_container_size
        # {"k":"<n ×é>"} is 8 + 2n bytes of compact UTF-8 JSON.
        fits = (limit - 8) // 2
        driver.set_value(USER, 'c', ['k'], 'é' * fits)
        with pytest.raises(exceptions.TooLarge):
            driver.set_value(USER, 'c', ['k'], 'é' * (fits + 1))

    # Concurrency -------------------------------------------------------------

    def _run_concurrently(self, count, function):
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(function, range(count)))

    def test_concurrent_writes_to_different_keys_all_land(self, driver):
        self._run_concurrently(
            64, lambda i: driver.set_value(USER, 'c', ['k%d' % i], i))
        assert driver.get_container(USER, 'c').value == {
            'k%d' % i: i for i in range(64)}

    def test_concurrent_merges_all_land(self, driver):
        self._run_concurrently(
            64, lambda i: driver.merge(USER, 'c', {'m%d' % i: [i]}))
        assert driver.get_container(USER, 'c').value == {
            'm%d' % i: [i] for i in range(64)}

    def test_concurrent_creation_of_one_container(self, driver):
        self._run_concurrently(
            32, lambda i: driver.set_value(USER, 'new', ['k%d' % i], i))
        assert driver.list_containers(USER) == ['new']
        assert len(driver.get_container(USER, 'new').value) == 32

    # Two drivers on one store (two API processes) ----------------------------
    # A driver may remember what it last read or wrote; each test leaves
    # ``first`` with an out-of-date view and checks its next write still
    # starts from what is stored.

    def test_write_after_another_driver_wrote_keeps_both(self,
                                                         driver_factory):
        first, second = driver_factory(), driver_factory()
        first.set_value(USER, 'c', ['a'], 1)
        first.get_container(USER, 'c')
        second.set_value(USER, 'c', ['b'], 2)
        first.set_value(USER, 'c', ['c'], 3)
        assert second.get_container(USER, 'c').value == {'a': 1, 'b': 2,
                                                         'c': 3}

    def test_write_after_another_driver_deleted_starts_afresh(
            self, driver_factory):
        first, second = driver_factory(), driver_factory()
        first.merge(USER, 'c', {'old': True})
        second.delete_container(USER, 'c')
        first.set_value(USER, 'c', ['new'], 1)
        assert second.get_container(USER, 'c').value == {'new': 1}

    def test_path_conflict_is_judged_on_what_is_stored(self,
                                                       driver_factory):
        first, second = driver_factory(), driver_factory()
        first.set_value(USER, 'c', ['a'], 'a string')
        second.set_value(USER, 'c', ['a'], {})
        first.set_value(USER, 'c', ['a', 'b'], 1)     # no conflict now
        assert second.get_container(USER, 'c').value == {'a': {'b': 1}}
        second.set_value(USER, 'c', ['a'], 0)
        with pytest.raises(exceptions.PathConflict):
            first.set_value(USER, 'c', ['a', 'b'], 2)
        assert second.get_container(USER, 'c').value == {'a': 0}

    def test_if_match_is_judged_on_what_is_stored(self, driver_factory):
        first, second = driver_factory(), driver_factory()
        first.set_value(USER, 'c', ['a'], 1)
        newer = second.set_value(USER, 'c', ['a'], 2).revision
        first.set_value(USER, 'c', ['a'], 3,
                        precondition=Precondition({newer}))
        assert second.get_container(USER, 'c').value == {'a': 3}
        with pytest.raises(exceptions.RevisionMismatch):
            first.set_value(USER, 'c', ['a'], 4,
                            precondition=Precondition({newer}))

    # Failures ----------------------------------------------------------------

    def test_unreachable_database_raises_backend_unavailable(
            self, unavailable_driver):
        operations = [
            lambda: unavailable_driver.list_containers(USER),
            lambda: unavailable_driver.get_container(USER, 'c'),
            lambda: unavailable_driver.merge(USER, 'c', {'a': 1}),
            lambda: unavailable_driver.set_value(USER, 'c', ['a'], 1),
            lambda: unavailable_driver.delete_value(USER, 'c', ['a']),
            lambda: unavailable_driver.delete_container(USER, 'c'),
            lambda: unavailable_driver.delete_user(USER),
            lambda: unavailable_driver.get_meta(USER, 'c'),
            lambda: unavailable_driver.get_value(USER, 'c', ['a']),
            lambda: unavailable_driver.usage(USER),
            unavailable_driver.check_health,
        ]
        for operation in operations:
            with pytest.raises(exceptions.BackendUnavailable):
                operation()

    # Injected failures: each primitive fails as a database would make it --

    # Each primitive, and an operation of the public interface that calls
    # it, run on a store holding USER's container 'c' = {'k': 1}.
    PRIMITIVE_CALLS = {
        'read': lambda d: d.get_container(USER, 'c').value == {'k': 1},
        'read_meta': lambda d: d.get_meta(USER, 'c').size == 7,
        'read_path': lambda d: d.get_value(USER, 'c', ['k']).value == 1,
        'read_many': lambda d: {key: read.value for key, read in
                                d.get_containers([OTHER, USER], 'c').items()
                                } == {USER: {'k': 1}},
        'insert_if_absent': lambda d: d.merge(USER, 'new', {'n': 1}) and
        d.get_container(USER, 'new').value == {'n': 1},
        'replace_if_revision': lambda d: d.set_value(USER, 'c', ['k'], 2)
        and d.get_container(USER, 'c').value == {'k': 2},
        'delete_if_revision': lambda d: d.delete_container(
            USER, 'c', Precondition(exists=True)).revision is None and
        d.list_containers(USER) == [],
        'delete_all': lambda d: d.delete_all_containers(USER).position
        and d.list_containers(USER) == [],
        'purge_user': lambda d: d.delete_user(USER) == 1 and
        d.list_containers(USER) == [],
        'list_user_ids': lambda d: d.list_users() == [USER],
        'list_names': lambda d: d.list_containers(USER) == ['c'],
        'list_expired': lambda d: d.expire_containers() == 0,
        'list_metas': lambda d: [(name, meta.size) for name, meta in
                                 d.list_container_details(USER)
                                 ] == [('c', 7)],
        'count_usage': lambda d: tuple(d.usage(USER)) == (1, 7),
        'list_stored': lambda d: [(user, name, read.text) for
                                  user, name, read in d.export_containers()
                                  ] == [(USER, 'c', '{"k":1}')],
        'ping': lambda d: d.check_health() is None,
        'read_feed': lambda d: [entry.container for entry in
                                d.changes_since(USER, 0, 10).changes
                                ] == ['c'],
        'read_feed_position': lambda d: d.feed_position(USER) == 1,
        'read_feed_positions': lambda d: d.feed_positions([USER, OTHER])
        == {USER: 1},
        'drop_tombstones': lambda d: d.expire_tombstones(0) == 0,
        'drop_excess_tombstones': lambda d: d.expire_tombstones(
            3600, max_per_user=1) == 0,
    }

    @staticmethod
    def _inject(driver, primitive, error, times, after_doing_it=False):
        """Make the driver's ``primitive`` raise ``error`` on its next
        ``times`` calls: before doing its work, or after it (the work is
        done but its caller never learns it, like a lost reply).
        Returns the list of calls that failed."""
        real = getattr(driver, primitive)
        failed = []

        def failing(*args):
            if len(failed) < times:
                failed.append(args)
                if after_doing_it:
                    real(*args)
                raise error
            return real(*args)

        setattr(driver, primitive, failing)
        return failed

    @pytest.mark.parametrize('primitive', sorted(PRIMITIVE_CALLS))
    def test_transient_error_in_each_primitive_is_retried(self, driver,
                                                          primitive):
        driver.merge(USER, 'c', {'k': 1})
        failed = self._inject(driver, primitive,
                              exceptions.TransientError('injected'), 2)
        assert self.PRIMITIVE_CALLS[primitive](driver)
        assert len(failed) == 2

    @pytest.mark.parametrize('primitive', sorted(PRIMITIVE_CALLS))
    def test_persistent_transient_errors_end_in_backend_unavailable(
            self, driver_factory, primitive):
        driver = driver_factory(containers_per_user=5)
        driver.merge(USER, 'c', {'k': 1})
        driver.operation_timeout = driver.wait_timeout = 0.2
        failed = self._inject(driver, primitive,
                              exceptions.TransientError('injected'), 10 ** 6)
        started = time.monotonic()
        with pytest.raises(exceptions.BackendUnavailable):
            self.PRIMITIVE_CALLS[primitive](driver)
        assert time.monotonic() - started < 0.2 + 1
        assert len(failed) > 2
        # Nothing changed, nothing half-done: a healthy driver agrees.
        healthy = driver_factory(containers_per_user=5)
        assert healthy.get_container(USER, 'c').value == {'k': 1}
        assert healthy.list_containers(USER) == ['c']
        assert tuple(healthy.usage(USER)) == (1, 7)

    @pytest.mark.parametrize('primitive', ['read', 'replace_if_revision',
                                           'list_names'])
    def test_other_errors_are_not_retried(self, driver, primitive):
        driver.merge(USER, 'c', {'k': 1})
        failed = self._inject(driver, primitive,
                              exceptions.BackendError('injected'), 10)
        with pytest.raises(exceptions.BackendError):
            self.PRIMITIVE_CALLS[primitive](driver)
        assert len(failed) == 1

    @pytest.mark.parametrize('write', ['create', 'replace', 'delete'])
    def test_a_write_whose_reply_is_lost_is_done_once(self, driver_factory,
                                                      write):
        driver = driver_factory(containers_per_user=2, bytes_per_user=100)
        revision = driver.merge(USER, 'c', {'k': 1}).revision
        primitive, operation = {
            'create': ('insert_if_absent',
                       lambda: driver.merge(USER, 'd', {'k': 2})),
            'replace': ('replace_if_revision',
                        lambda: driver.set_value(USER, 'c', ['k'], 3)),
            'delete': ('delete_if_revision',
                       lambda: driver.delete_container(USER, 'c')),
        }[write]
        failed = self._inject(driver, primitive,
                              exceptions.TransientError('reply lost'), 1,
                              after_doing_it=True)
        outcome = operation().revision
        assert len(failed) == 1
        healthy = driver_factory()
        if write == 'create':
            assert outcome == healthy.get_meta(USER, 'd').revision
            assert healthy.list_containers(USER) == ['c', 'd']
        elif write == 'replace':
            assert outcome == healthy.get_meta(USER, 'c').revision
            assert outcome > revision
            assert healthy.get_container(USER, 'c').value == {'k': 3}
        else:
            assert healthy.list_containers(USER) == []
        # The usage record the quota is held with changed once: exactly
        # the room left is left.
        room = 2 - healthy.usage(USER).containers
        for number in range(room):
            driver.merge(USER, 'more%d' % number, {})
        with pytest.raises(exceptions.QuotaExceeded):
            driver.merge(USER, 'one-too-many', {})

    # Listing pages -----------------------------------------------------------

    def test_list_with_limit_marker_prefix(self, driver):
        names = ['a', 'ab', 'abc', 'abd', 'ac', 'b', 'é', 'éa', '\uffff',
                 '\U0001f984', '\U0001f984x']
        for name in names:
            driver.merge(USER, name, {})
        driver.merge(OTHER, 'ab', {})
        assert driver.list_containers(USER, limit=3) == ['a', 'ab', 'abc']
        assert driver.list_containers(USER, limit=3, marker='abc') == [
            'abd', 'ac', 'b']
        assert driver.list_containers(USER, marker='ab0') == names[2:]
        assert driver.list_containers(USER, marker='\U0010ffff') == []
        assert driver.list_containers(USER, prefix='ab') == ['ab', 'abc',
                                                             'abd']
        assert driver.list_containers(USER, prefix='ab', marker='abc') == [
            'abd']
        assert driver.list_containers(USER, prefix='é') == ['é', 'éa']
        assert driver.list_containers(USER, prefix='\uffff') == ['\uffff']
        assert driver.list_containers(USER, prefix='\U0001f984') == [
            '\U0001f984', '\U0001f984x']
        assert driver.list_containers(USER, prefix='.*') == []
        assert driver.list_containers(USER, prefix='z') == []

    def test_details_list_what_names_list_with_each_meta(self, driver):
        names = ['a', 'ab', 'abc', 'b', 'é']
        for number, name in enumerate(names):
            driver.merge(USER, name, {'n': number})
        driver.set_value(USER, 'ab', ['more'], 'é')
        driver.merge(OTHER, 'ab', {})
        for query in ({}, {'limit': 2}, {'marker': 'ab'},
                      {'prefix': 'ab'}, {'prefix': 'ab', 'marker': 'ab'},
                      {'prefix': 'z'}):
            details = driver.list_container_details(USER, **query)
            assert [name for name, _meta in details] == \
                driver.list_containers(USER, **query), query
            for name, meta in details:
                assert meta == driver.get_meta(USER, name)
        (_name, meta), = driver.list_container_details(USER, prefix='abc')
        assert meta.size == len('{"n":2}')

    # Expiring containers -----------------------------------------------------

    @pytest.fixture
    def clock(self, monkeypatch):
        """The second expiry compares with, moved by the test."""
        class Clock:
            now = int(time.time())
        monkeypatch.setattr(records, 'now_s', lambda: Clock.now)
        return Clock

    def test_an_expired_container_is_gone_for_every_read(self, driver,
                                                         clock):
        driver.merge(USER, 'short', {'k': [1]},
                     expiry=Expiry(clock.now + 10))
        driver.merge(USER, 'kept', {})
        assert driver.get_meta(USER, 'short').expires_at == clock.now + 10
        assert driver.get_container(USER, 'short').expires_at == \
            clock.now + 10
        assert driver.get_value(USER, 'short', ['k']).value == [1]
        usage = driver.usage(USER)
        clock.now += 9
        assert driver.list_containers(USER) == ['kept', 'short']
        clock.now += 1                      # the second it expires
        for read in (lambda: driver.get_container(USER, 'short'),
                     lambda: driver.get_meta(USER, 'short'),
                     lambda: driver.get_value(USER, 'short', ['k'])):
            with pytest.raises(exceptions.NotFound):
                read()
        assert driver.list_containers(USER) == ['kept']
        assert [name for name, _meta in
                driver.list_container_details(USER)] == ['kept']
        assert driver.usage(USER) == (usage.containers - 1,
                                      usage.bytes - len('{"k":[1]}'))
        assert [name for user, name, _read in driver.export_containers()
                if user == USER] == ['kept']

    def test_get_containers_reads_each_owner_and_leaves_out_the_expired(
            self, driver, clock):
        project = owners.Owner(owners.PROJECT, 'p').key
        cloud = owners.Owner(owners.CLOUD, None).key
        driver.merge(cloud, 'c', {'layer': 'cloud'})
        driver.merge(USER, 'c', {'layer': 'user'})
        driver.merge(project, 'c', {'layer': 'project'},
                     expiry=Expiry(clock.now + 5))
        driver.merge(OTHER, 'elsewhere', {})
        keys = [cloud, owners.Owner(owners.DOMAIN, 'd').key, project, USER]
        found = driver.get_containers(keys, 'c')
        assert {key: read.value for key, read in found.items()} == {
            cloud: {'layer': 'cloud'}, project: {'layer': 'project'},
            USER: {'layer': 'user'}}
        assert found[USER].revision == driver.get_meta(USER, 'c').revision
        assert found[project].expires_at == clock.now + 5
        assert driver.get_containers([USER], 'missing') == {}
        assert set(driver.get_containers([USER, USER], 'c')) == {USER}
        clock.now += 5
        assert set(driver.get_containers(keys, 'c')) == {cloud, USER}

    def test_a_write_sets_keeps_or_clears_the_expiry(self, driver, clock):
        first = driver.merge(USER, 'c', {'a': 1},
                             expiry=Expiry(clock.now + 60))
        kept = driver.set_value(USER, 'c', ['b'], 2)
        assert driver.get_meta(USER, 'c').expires_at == clock.now + 60
        # The expiry alone changed: a new revision.
        moved = driver.merge(USER, 'c', {}, expiry=Expiry(clock.now + 120))
        assert moved.revision != kept.revision != first.revision
        assert driver.get_meta(USER, 'c').expires_at == clock.now + 120
        same_again = driver.merge(USER, 'c', {},
                                  expiry=Expiry(clock.now + 120))
        assert same_again.revision == moved.revision
        assert same_again.position is None
        driver.replace(USER, 'c', {'z': 0}, expiry=Expiry(None))
        assert driver.get_meta(USER, 'c').expires_at is None
        clock.now += 10 ** 6
        assert driver.get_container(USER, 'c').value == {'z': 0}

    def test_a_write_after_expiry_makes_a_new_container(self, driver,
                                                        clock):
        old = driver.merge(USER, 'c', {'old': 1},
                           expiry=Expiry(clock.now + 5))
        clock.now += 5
        with pytest.raises(exceptions.RevisionMismatch):
            driver.set_value(USER, 'c', ['x'], 1,
                             precondition=Precondition([old.revision]))
        with pytest.raises(exceptions.RevisionMismatch):
            driver.delete_container(USER, 'c',
                                    Precondition(exists=True))
        assert driver.delete_value(USER, 'c', ['old']).revision is None
        new = driver.set_value(USER, 'c', ['new'], 2)
        read = driver.get_container(USER, 'c')
        assert read.value == {'new': 2} and read.expires_at is None
        assert new.revision != old.revision
        assert driver.usage(USER) == (1, len('{"new":2}'))
        changes = driver.changes_since(USER, 0, 10).changes
        assert [(entry.container, entry.revision) for entry in changes] == [
            ('c', new.revision)]

    def test_the_sweep_deletes_expired_containers(self, driver, clock):
        heard = []
        driver.add_change_listener(heard.append, name='test')
        driver.merge(USER, 'gone', {'a': 1}, expiry=Expiry(clock.now + 1))
        driver.merge(OTHER, 'gone', {}, expiry=Expiry(clock.now + 2))
        driver.merge(USER, 'stays', {}, expiry=Expiry(clock.now + 3))
        assert driver.expire_containers() == 0
        clock.now += 2
        position = driver.feed_position(USER)
        assert driver.expire_containers(batch=1) == 2
        assert driver.expire_containers() == 0
        deletes = [change for change in heard if change.action == 'delete']
        assert sorted((change.user_id, change.container, change.reason)
                      for change in deletes) == [
            (USER, 'gone', 'expired'), (OTHER, 'gone', 'expired')]
        page = driver.changes_since(USER, position, 10)
        assert [(entry.container, entry.revision)
                for entry in page.changes] == [('gone', None)]
        assert driver.usage(USER) == (1, 2)
        # The usage record, which quotas use, gave its places back.
        for number in range(3):
            driver.merge(USER, 'new%d' % number, {})
        assert driver.list_containers(USER) == ['new0', 'new1', 'new2',
                                                'stays']

    def test_an_expired_container_leaves_the_quota_before_the_sweep(
            self, driver_factory, clock):
        # Before, the quota kept counting it until the sweep ran, while
        # X-Container-Count no longer did: a 403 the user could not see.
        driver = driver_factory(containers_per_user=2, bytes_per_user=100)
        driver.set_value(USER, 'short', ['k'], 'x' * 60,
                         expiry=Expiry(clock.now + 5))       # 68 bytes
        driver.merge(USER, 'kept', {})
        with pytest.raises(exceptions.QuotaExceeded):
            driver.merge(USER, 'third', {})
        with pytest.raises(exceptions.QuotaExceeded):
            driver.set_value(USER, 'kept', ['k'], 'x' * 40)
        clock.now += 5
        driver.merge(USER, 'third', {})
        driver.set_value(USER, 'kept', ['k'], 'x' * 40)
        assert driver.list_containers(USER) == ['kept', 'third']
        assert driver.usage(USER) == (2, 2 + len('{"k":""}') + 40)
        with pytest.raises(exceptions.QuotaExceeded):
            driver.merge(USER, 'fourth', {})

    # Usage and quotas --------------------------------------------------------

    def test_usage_counts_compact_json(self, driver):
        assert tuple(driver.usage(USER)) == (0, 0)
        driver.merge(USER, 'c', {'é': [1, 2]})     # {"é":[1,2]} = 12 bytes
        driver.merge(USER, 'd', {})                 # {} = 2 bytes
        driver.merge(OTHER, 'c', {'x': 1})
        assert tuple(driver.usage(USER)) == (2, 14)
        driver.delete_value(USER, 'c', ['é'])
        assert tuple(driver.usage(USER)) == (2, 4)
        driver.delete_container(USER, 'c')
        assert tuple(driver.usage(USER)) == (1, 2)

    def test_container_quota(self, driver_factory):
        driver = driver_factory(containers_per_user=2)
        driver.merge(USER, 'a', {})
        driver.set_value(USER, 'b', ['k'], 1)
        with pytest.raises(exceptions.QuotaExceeded) as caught:
            driver.merge(USER, 'c', {})
        assert caught.value.quota == 'containers'
        with pytest.raises(exceptions.QuotaExceeded):
            driver.set_value(USER, 'c', ['k'], 1)
        # Existing containers can still change; other users are apart.
        driver.set_value(USER, 'a', ['k'], 2)
        driver.merge(OTHER, 'c', {})
        driver.delete_container(USER, 'b')
        driver.merge(USER, 'c', {})
        assert driver.list_containers(USER) == ['a', 'c']

    def test_bytes_quota(self, driver_factory):
        driver = driver_factory(bytes_per_user=100)
        driver.set_value(USER, 'a', ['k'], 'x' * 60)     # 68 bytes
        with pytest.raises(exceptions.QuotaExceeded) as caught:
            driver.set_value(USER, 'b', ['k'], 'x' * 30)  # +38
        assert caught.value.quota == 'bytes'
        assert driver.list_containers(USER) == ['a']
        driver.set_value(USER, 'a', ['k'], 'x' * 10)     # shrinks: allowed
        driver.set_value(USER, 'b', ['k'], 'x' * 30)
        assert driver.usage(USER).bytes == 18 + 38
        driver.delete_user(USER)
        driver.set_value(USER, 'c', ['k'], 'x' * 90)
        assert driver.usage(USER).bytes == 98

    def test_quota_counts_data_written_before_it(self, driver_factory):
        driver_factory().set_value(USER, 'old', ['k'], 'x' * 80)
        driver = driver_factory(bytes_per_user=100)
        with pytest.raises(exceptions.QuotaExceeded):
            driver.set_value(USER, 'new', ['k'], 'x' * 20)
        driver.forget_usage()
        with pytest.raises(exceptions.QuotaExceeded):
            driver.set_value(USER, 'new', ['k'], 'x' * 20)

    def test_quota_holds_under_concurrent_writers(self, driver_factory):
        driver = driver_factory(containers_per_user=5, bytes_per_user=400)
        outcomes = []

        def create(index):
            try:
                driver.set_value(USER, 'c%02d' % index, ['k'], 'x' * 10)
                outcomes.append('ok')
            except exceptions.QuotaExceeded:
                outcomes.append('quota')

        self._run_concurrently(40, create)
        assert outcomes.count('ok') == 5
        assert len(driver.list_containers(USER)) == 5
        names = driver.list_containers(USER)
        grown = []

        def grow(index):
            try:
                driver.set_value(USER, names[index % 5], ['g%d' % index],
                                 'y' * 20)
                grown.append(index)
            except exceptions.QuotaExceeded:
                pass

        self._run_concurrently(40, grow)
        usage = driver.usage(USER)
        assert usage.bytes <= 400
        assert usage.containers == 5
        # The record quotas use agrees with a fresh count.
        driver.forget_usage()
        assert tuple(driver.usage(USER)) == tuple(usage)

    # Preconditions -----------------------------------------------------------

    def test_if_match_revision(self, driver):
        revision = driver.merge(USER, 'c', {'a': 1}).revision
        newer = driver.set_value(USER, 'c', ['b'], 2,
                                 precondition=Precondition({revision})
                                 ).revision
        with pytest.raises(exceptions.RevisionMismatch) as caught:
            driver.set_value(USER, 'c', ['b'], 3,
                             precondition=Precondition({revision}))
        assert caught.value.current == newer
        assert driver.get_container(USER, 'c').value == {'a': 1, 'b': 2}
        with pytest.raises(exceptions.RevisionMismatch) as caught:
            driver.merge(USER, 'missing', {},
                         precondition=Precondition({revision}))
        assert caught.value.current is None
        assert driver.list_containers(USER) == ['c']

    def test_if_match_any_and_if_none_match_any(self, driver):
        exists = Precondition(exists=True)
        absent = Precondition(exists=False)
        with pytest.raises(exceptions.RevisionMismatch):
            driver.set_value(USER, 'c', ['k'], 1, precondition=exists)
        driver.merge(USER, 'c', {'k': 1}, precondition=absent)
        with pytest.raises(exceptions.RevisionMismatch):
            driver.merge(USER, 'c', {'k': 2}, precondition=absent)
        driver.set_value(USER, 'c', ['k'], 3, precondition=exists)
        assert driver.get_container(USER, 'c').value == {'k': 3}

    def test_conditional_deletes(self, driver):
        revision = driver.merge(USER, 'c', {'a': 1, 'b': 2}).revision
        with pytest.raises(exceptions.RevisionMismatch):
            driver.delete_value(USER, 'c', ['a'],
                                precondition=Precondition({revision + 1}))
        newer = driver.delete_value(USER, 'c', ['a'],
                                    precondition=Precondition({revision})
                                    ).revision
        with pytest.raises(exceptions.RevisionMismatch):
            driver.delete_container(USER, 'c',
                                    precondition=Precondition({revision}))
        assert driver.get_container(USER, 'c').value == {'b': 2}
        driver.delete_container(USER, 'c', precondition=Precondition({newer}))
        assert driver.list_containers(USER) == []
        with pytest.raises(exceptions.RevisionMismatch):
            driver.delete_container(USER, 'c',
                                    precondition=Precondition(exists=True))

    def test_only_one_of_racing_conditional_writes_wins(self, driver):
        revision = driver.merge(USER, 'c', {'n': -1}).revision
        winners = []

        def write(index):
            try:
                # Each a change: one that changed nothing would succeed.
                driver.set_value(USER, 'c', ['n'], index,
                                 precondition=Precondition({revision}))
                winners.append(index)
            except exceptions.RevisionMismatch:
                pass

        self._run_concurrently(24, write)
        assert len(winners) == 1
        assert driver.get_container(USER, 'c').value == {'n': winners[0]}

    # Merge patch -------------------------------------------------------------

    def test_merge_patch(self, driver):
        driver.merge(USER, 'c', {'a': {'x': 1, 'y': 2}, 'b': 1, 'l': [1]})
        driver.merge_patch(USER, 'c', [], {'a': {'x': None, 'z': 3},
                                           'b': None, 'l': [2]})
        assert driver.get_container(USER, 'c').value == {
            'a': {'y': 2, 'z': 3}, 'l': [2]}
        driver.merge_patch(USER, 'c', ['a', 'new'], {'k': {'deep': True}})
        assert driver.get_value(USER, 'c', ['a', 'new']).value == {
            'k': {'deep': True}}
        with pytest.raises(exceptions.PathConflict):
            driver.merge_patch(USER, 'c', ['l', 'x'], {'k': 1})
        driver.merge_patch(USER, 'fresh', [], {'a': None, 'b': 1})
        assert driver.get_container(USER, 'fresh').value == {'b': 1}


class NetworkFaultContract:
    """Connections cut mid-read and mid-write, for drivers that talk to a
    server over the network.

    The test module defines two fixtures: ``proxied_driver_factory``, a
    DriverFactory whose drivers reach the store through a
    :class:`tests.support.network.TCPProxy` (its ``proxy`` attribute);
    and ``fault_patterns``: bytes the driver sends for a ``read`` of a
    container, a compare-and-swap ``write``, and ``durable``: the message
    after which a quota-accounted write of a user with a usage record is
    durable (a transaction's COMMIT, or the write itself).
    """

    def _driver(self, proxied_driver_factory, **quota):
        driver = proxied_driver_factory(**quota)
        driver.merge(USER, 'c', {'k': 1})
        driver.get_container(USER, 'c')
        return driver, proxied_driver_factory.proxy

    def test_connection_cut_mid_read_is_retried(self, fault_patterns,
                                                proxied_driver_factory):
        driver, proxy = self._driver(proxied_driver_factory)
        proxy.cut_at(fault_patterns['read'])
        assert driver.get_container(USER, 'c').value == {'k': 1}
        assert proxy.sprung.is_set()

    def test_connection_cut_before_a_write_is_retried(
            self, fault_patterns, proxied_driver_factory, driver_factory):
        driver, proxy = self._driver(proxied_driver_factory)
        proxy.cut_at(fault_patterns['write'])
        revision = driver.set_value(USER, 'c', ['k'], 2).revision
        assert proxy.sprung.is_set()
        stored = driver_factory().get_container(USER, 'c')
        assert (stored.value, stored.revision) == ({'k': 2}, revision)
        # And the driver goes on without a restart.
        assert driver.set_value(USER, 'c', ['k'], 3).revision > revision

    def test_write_whose_reply_is_cut_is_done_once(
            self, fault_patterns, proxied_driver_factory, driver_factory):
        driver, proxy = self._driver(proxied_driver_factory)
        before = driver_factory().get_container(USER, 'c').revision
        proxy.cut_at(fault_patterns['write'], after_reply=True)
        revision = driver.set_value(USER, 'c', ['k'], 2).revision
        assert proxy.sprung.is_set()
        stored = driver_factory().get_container(USER, 'c')
        assert (stored.value, stored.revision) == ({'k': 2}, revision)
        assert revision > before

    def test_quota_write_whose_reply_is_cut_counts_once(
            self, fault_patterns, proxied_driver_factory, driver_factory):
        driver, proxy = self._driver(proxied_driver_factory,
                                     containers_per_user=3)
        proxy.cut_at(fault_patterns['durable'], after_reply=True)
        driver.merge(USER, 'd', {'k': 2})
        assert proxy.sprung.is_set()
        assert driver_factory().list_containers(USER) == ['c', 'd']
        driver.merge(USER, 'e', {})
        with pytest.raises(exceptions.QuotaExceeded):
            driver.merge(USER, 'f', {})
