"""Base class of the API tests: three users made for the run (two
members of different projects and a system administrator), each with
the v1 client, and every container they made deleted afterwards."""

import json
import uuid

from tempest import config
from tempest.lib import exceptions as lib_exc
from tempest import test

CONF = config.CONF


class BaseCloudprefsTest(test.BaseTestCase):

    credentials = ['primary', 'alt', 'system_admin']

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.service_available.cloudprefs:
            raise cls.skipException('Cloud Preferences is not available')

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        # A client of each credential: cls.clients['project_member'].
        cls.clients = {
            name: getattr(cls, 'os_' + name).preferences_v1.
            PreferencesClient() for name in cls.credentials}
        cls.client = cls.clients.get('primary')
        cls.alt_client = cls.clients.get('alt')
        cls.admin_client = cls.clients.get('system_admin')

    @classmethod
    def resource_cleanup(cls):
        for client in (cls.client, cls.alt_client):
            if client is None:
                continue
            try:
                client.delete_all()
            except lib_exc.TempestException:
                pass
        super().resource_cleanup()

    @staticmethod
    def unique_name(prefix='tempest'):
        return '%s-%s' % (prefix, uuid.uuid4().hex[:12])

    def assert_error(self, exception_class, code, call, *args, **kwargs):
        """``call`` fails with ``exception_class`` and the service's
        error code in its JSON body."""
        error = self.assertRaises(exception_class, call, *args, **kwargs)
        body = error.resp_body
        if isinstance(body, (bytes, str)):
            body = json.loads(body)
        # tempest unwraps a body of one key: {"errors": [...]} -> [...]
        errors = body['errors'] if isinstance(body, dict) else body
        self.assertEqual(code, errors[0]['code'])
        self.assertTrue(errors[0]['request_id'])
        return error
