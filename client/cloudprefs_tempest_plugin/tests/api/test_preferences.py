"""API tests of every v1 operation, isolation between users, the admin
scope, conditional writes, the size limit and the quota."""

import time

from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from cloudprefs_tempest_plugin.tests.api import base

CONF = config.CONF


class PreferencesTest(base.BaseCloudprefsTest):

    @decorators.idempotent_id('8bf3fe00-a606-417f-b842-be8a62779d6f')
    def test_seed_examples(self):
        name = self.unique_name('defaults')
        self.client.create_or_merge(name)
        self.client.create_or_merge(
            name, {'build_config': ['monitoring', 'backup']})
        self.client.set_value(name, ['passwords', 'root'], 'secretpassword')
        _, names = self.client.list_containers(prefix=name)
        self.assertEqual([name], names)
        _, value = self.client.read(name)
        self.assertEqual({'build_config': ['monitoring', 'backup'],
                          'passwords': {'root': 'secretpassword'}}, value)
        _, value = self.client.read(name, ['passwords', 'root'])
        self.assertEqual('secretpassword', value)
        self.client.delete_value(name, ['passwords', 'root'])
        _, value = self.client.read(name)
        self.assertEqual({'build_config': ['monitoring', 'backup'],
                          'passwords': {}}, value)
        self.client.delete_container(name)
        self.assert_error(lib_exc.NotFound, 'cloudprefs.not_found',
                          self.client.read, name)

    @decorators.idempotent_id('55769e3f-d270-43a2-8d12-fc99c4672109')
    def test_replace_and_merge_patch(self):
        name = self.unique_name()
        self.client.replace(name, {'a': {'x': 1}, 'b': 1})
        self.client.merge_patch(name, {'a': {'y': 2}, 'b': None})
        _, value = self.client.read(name)
        self.assertEqual({'a': {'x': 1, 'y': 2}}, value)
        self.client.merge_patch(name, {'z': True}, path=['a'])
        self.client.replace(name, {'only': []})
        _, value = self.client.read(name)
        self.assertEqual({'only': []}, value)

    @decorators.idempotent_id('464b14b8-cc5b-4262-8bda-0d6ba10842d6')
    def test_any_json_value_at_a_path(self):
        name = self.unique_name()
        for value in (None, False, 0, '', {}, [], 1.5, 'é🦄',
                      -9223372036854775808):
            self.client.set_value(name, ['k'], value)
            _, read = self.client.read(name, ['k'])
            self.assertEqual(value, read)

    @decorators.idempotent_id('18cebe6e-4ee0-4c89-812a-d95f852705a2')
    def test_list_pages_and_prefix(self):
        prefix = self.unique_name('list')
        names = ['%s-%d' % (prefix, number) for number in range(5)]
        for name in names:
            self.client.create_or_merge(name)
        resp, page = self.client.list_containers(prefix=prefix, limit=2)
        self.assertEqual(names[:2], page)
        self.assertIn('rel="next"', resp['link'])
        _, page = self.client.list_containers(prefix=prefix,
                                              marker=names[1])
        self.assertEqual(names[2:], page)

    @decorators.idempotent_id('47f3b368-1ff0-4e66-a81a-9d8e638d2ed4')
    def test_delete_all(self):
        for number in range(3):
            self.alt_client.create_or_merge(self.unique_name())
        self.alt_client.delete_all()
        _, names = self.alt_client.list_containers()
        self.assertEqual([], names)


class IsolationTest(base.BaseCloudprefsTest):

    @decorators.idempotent_id('efdf8d60-8580-4a64-8e63-50bf96db0ca9')
    def test_users_do_not_see_each_other(self):
        name = self.unique_name('private')
        self.client.set_value(name, ['secret'], 'primary')
        _, names = self.alt_client.list_containers(prefix=name)
        self.assertEqual([], names)
        self.assert_error(lib_exc.NotFound, 'cloudprefs.not_found',
                          self.alt_client.read, name)
        # The same name is the other user's own container.
        self.alt_client.set_value(name, ['secret'], 'alt')
        _, value = self.client.read(name, ['secret'])
        self.assertEqual('primary', value)

    @decorators.idempotent_id('e84ddbd4-36d4-46a2-bbd6-666cc9492d60')
    def test_members_cannot_act_for_another_user(self):
        name = self.unique_name()
        self.client.create_or_merge(name, {'a': 1})
        other = self.os_primary.credentials.user_id
        self.assert_error(lib_exc.Forbidden, 'cloudprefs.forbidden',
                          self.alt_client.read, name, user_id=other)
        self.assert_error(lib_exc.Forbidden, 'cloudprefs.forbidden',
                          self.alt_client.delete_all, user_id=other)
        _, value = self.client.read(name)
        self.assertEqual({'a': 1}, value)


class AdminScopeTest(base.BaseCloudprefsTest):

    @decorators.idempotent_id('9b576bef-0a28-4b9d-b20d-3d79fa410451')
    def test_system_admin_reads_writes_and_purges_a_user(self):
        user_id = self.os_alt.credentials.user_id
        name = self.unique_name()
        self.alt_client.create_or_merge(name, {'theme': 'dark'})
        _, value = self.admin_client.read(name, user_id=user_id)
        self.assertEqual({'theme': 'dark'}, value)
        self.admin_client.set_value(name, ['by_admin'], True,
                                    user_id=user_id)
        _, value = self.alt_client.read(name)
        self.assertEqual({'theme': 'dark', 'by_admin': True}, value)
        self.admin_client.delete_all(user_id=user_id)
        _, names = self.alt_client.list_containers()
        self.assertEqual([], names)


class ConditionalWriteTest(base.BaseCloudprefsTest):

    @decorators.idempotent_id('604eaf05-7a09-48da-b1c7-497d7779b770')
    def test_stale_etag_is_412_and_changes_nothing(self):
        name = self.unique_name()
        resp = self.client.create_or_merge(name, {'n': 1})
        etag = resp['etag']
        resp = self.client.set_value(name, ['n'], 2, if_match=etag)
        fresh = resp['etag']
        self.assertNotEqual(etag, fresh)
        self.assert_error(lib_exc.PreconditionFailed,
                          'cloudprefs.precondition_failed',
                          self.client.set_value, name, ['n'], 3,
                          if_match=etag)
        self.assert_error(lib_exc.PreconditionFailed,
                          'cloudprefs.precondition_failed',
                          self.client.delete_container, name,
                          if_match=etag)
        self.assert_error(lib_exc.PreconditionFailed,
                          'cloudprefs.precondition_failed',
                          self.client.create_or_merge, name, {},
                          if_none_match='*')
        resp, value = self.client.read(name)
        self.assertEqual({'n': 2}, value)
        self.assertEqual(fresh, resp['etag'])

    @decorators.idempotent_id('a1795f65-c26c-46b5-8d1c-a78ae847538d')
    def test_not_modified(self):
        name = self.unique_name()
        etag = self.client.create_or_merge(name, {'n': 1})['etag']
        resp, _ = self.client.get(name, headers={'If-None-Match': etag})
        self.assertEqual(304, resp.status)


class LimitsTest(base.BaseCloudprefsTest):

    @decorators.idempotent_id('8b33aa44-37c8-429f-894b-e5634f496a59')
    def test_container_over_the_size_limit_is_413(self):
        name = self.unique_name()
        self.client.create_or_merge(name, {'kept': True})
        size = CONF.preferences.max_container_size
        self.assertRaises((lib_exc.OverLimit, lib_exc.RateLimitExceeded),
                          self.client.set_value, name, ['big'],
                          'x' * (size + 1))
        _, value = self.client.read(name)
        self.assertEqual({'kept': True}, value)

    @decorators.idempotent_id('c15a1525-a5e0-4233-a5c4-88240a681289')
    def test_invalid_json_is_400(self):
        name = self.unique_name()
        self.assert_error(lib_exc.BadRequest, 'cloudprefs.invalid_json',
                          self.client.send_raw, 'POST', name,
                          b'{"unterminated": ')
        self.assert_error(lib_exc.NotFound, 'cloudprefs.not_found',
                          self.client.read, name)


class QuotaTest(base.BaseCloudprefsTest):

    @decorators.idempotent_id('faa947f6-a4d8-4ced-bc8e-c631f9dd831f')
    def test_usage_headers(self):
        name = self.unique_name()
        self.client.create_or_merge(name, {'a': 1})
        resp = self.client.usage()
        self.assertGreaterEqual(int(resp['x-container-count']), 1)
        self.assertGreaterEqual(int(resp['x-bytes-used']), len('{"a":1}'))
        quota = CONF.preferences.containers_per_user
        if quota:
            self.assertEqual(quota, int(resp['x-container-quota']))
        else:
            self.assertNotIn('x-container-quota', resp)

    @decorators.idempotent_id('1147f32a-284d-4948-b501-058ad1665a70')
    def test_container_quota_is_403_past_the_limit(self):
        quota = CONF.preferences.containers_per_user
        if not quota or quota > CONF.preferences.max_quota_to_fill:
            raise self.skipException(
                'containers_per_user is %s: too many to fill' % quota)
        self.alt_client.delete_all()
        for number in range(quota):
            self.alt_client.create_or_merge('quota-%d' % number)
        self.assert_error(lib_exc.Forbidden, 'cloudprefs.quota_exceeded',
                          self.alt_client.create_or_merge, 'one-too-many')
        self.alt_client.delete_container('quota-0')
        self.alt_client.create_or_merge('one-too-many')
        self.alt_client.delete_all()

    @decorators.idempotent_id('26bc8447-208d-4e22-8c02-b03123175a31')
    def test_versions_and_json_patch(self):
        _, document = self.client.read_versions()
        (v1,) = document['versions']
        self.assertEqual('1.0', v1['min_version'])
        name = self.unique_name()
        self.client.replace(name, {'a': 1, 'list': [1]})
        resp = self.client.json_patch(name, [
            {'op': 'test', 'path': '/a', 'value': 1},
            {'op': 'add', 'path': '/list/-', 'value': 2},
            {'op': 'move', 'from': '/a', 'path': '/b'}])
        self.assertEqual('preferences 1.1', resp['openstack-api-version'])
        _, value = self.client.read(name)
        self.assertEqual({'b': 1, 'list': [1, 2]}, value)
        self.assert_error(lib_exc.Conflict, 'cloudprefs.patch_conflict',
                          self.client.json_patch, name,
                          [{'op': 'remove', 'path': '/b'},
                           {'op': 'test', 'path': '/list', 'value': []}])
        _, value = self.client.read(name)
        self.assertEqual({'b': 1, 'list': [1, 2]}, value)
        # Before 1.1 a JSON Patch is refused, as it was before versions.
        self.assert_error(lib_exc.InvalidContentType,
                          'cloudprefs.unsupported_media_type',
                          self.client.json_patch, name, [],
                          microversion='1.0')
        self.assert_error(lib_exc.NotAcceptable,
                          'cloudprefs.api_version_not_available',
                          self.client.json_patch, name, [],
                          microversion='1.999')

    @decorators.idempotent_id('ff259f30-73d8-455b-a520-469d8ee4f25a')
    def test_detailed_listing(self):
        prefix = self.unique_name('detail')
        names = [prefix + '-a', prefix + '-b']
        for name in names:
            self.client.create_or_merge(name, {'n': name})
        resp, details = self.client.list_details(prefix=prefix, limit=1)
        self.assertEqual('preferences 1.2', resp['openstack-api-version'])
        self.assertEqual([names[0]], [item['name'] for item in details])
        self.assertIn('detail=true', resp['link'])
        resp, details = self.client.list_details(prefix=prefix)
        for item in details:
            read, _ = self.client.read(item['name'])
            self.assertEqual(read['etag'], item['etag'])
            self.assertEqual(int(read['content-length']), item['bytes'])
        # Before 1.2 the names alone, as before versions.
        _, listed = self.client.list_details(microversion='1.1',
                                             prefix=prefix)
        self.assertEqual(names, listed)

    @decorators.idempotent_id('f2f2a2eb-31b8-4b5e-9d99-f2c1557e0d23')
    def test_expiring_container(self):
        name = self.unique_name('expiring')
        self.client.create_or_merge(name, {'a': 1}, microversion='1.3',
                                    extra={'X-Delete-After': '3600'})
        resp = self.client.stat_container(name, microversion='1.3')
        self.assertIn('x-delete-at', resp)
        self.assertNotIn(
            'x-delete-at', self.client.stat_container(name, '1.0'))
        self.client.create_or_merge(name, {}, microversion='1.3',
                                    extra={'X-Remove-Delete-At': '1'})
        resp = self.client.stat_container(name, microversion='1.3')
        self.assertNotIn('x-delete-at', resp)
        self.assert_error(lib_exc.BadRequest, 'cloudprefs.bad_request',
                          self.client.create_or_merge, name, {},
                          microversion='1.3',
                          extra={'X-Delete-At': '1000'})
        self.client.create_or_merge(name, {}, microversion='1.3',
                                    extra={'X-Delete-After': '1'})
        for _attempt in range(50):
            try:
                self.client.read(name)
            except lib_exc.NotFound:
                break
            time.sleep(0.2)
        else:
            self.fail('the container did not expire')
