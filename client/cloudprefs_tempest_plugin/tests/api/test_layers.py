"""The shared layers (API 1.4) with real tokens of every persona: who
may read and write the project's, the domain's and the cloud's layer,
and the merged view."""

from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from cloudprefs_tempest_plugin.tests.api import base

V14 = '1.4'


class LayersTest(base.BaseCloudprefsTest):

    credentials = ['project_member', 'project_manager', 'project_admin',
                   'domain_admin', 'system_admin']

    def _write(self, who, name, value, **query):
        return self.clients[who].create_or_merge(
            name, value, query=query, microversion=V14)

    def _read(self, who, name, **query):
        return self.clients[who].read(name, microversion=V14, **query)[1]

    def _delete_later(self, who, name, **query):
        self.addCleanup(self.clients[who].delete_container, name,
                        query=query, microversion=V14)

    @decorators.idempotent_id('0f4f3a0e-5b7e-4a63-9a51-3f1c2a8d6b10')
    def test_project_layer_policy(self):
        name = self.unique_name('project')
        self._delete_later('project_admin', name, scope='project')
        self._write('project_manager', name, {'manager': 1},
                    scope='project')
        self._write('project_admin', name, {'admin': 1}, scope='project')
        self.assertEqual({'manager': 1, 'admin': 1},
                         self._read('project_member', name,
                                    scope='project'))
        self.assert_error(lib_exc.Forbidden, 'cloudprefs.forbidden',
                          self._write, 'project_member', name, {'x': 1},
                          scope='project')
        project_id = self.os_project_member.credentials.project_id
        self._write('system_admin', name, {'system': 1}, scope='project',
                    project_id=project_id)
        self.assertEqual({'manager': 1, 'admin': 1, 'system': 1},
                         self._read('project_member', name,
                                    scope='project'))
        self.assert_error(lib_exc.Forbidden, 'cloudprefs.forbidden',
                          self._read, 'domain_admin', name,
                          scope='project', project_id=project_id)

    @decorators.idempotent_id('5c0b9d52-7f11-4c1e-8d1e-0b8f5e2a4c37')
    def test_domain_layer_policy(self):
        name = self.unique_name('domain')
        domain_id = self.os_domain_admin.credentials.domain_id
        self._delete_later('system_admin', name, scope='domain',
                           domain_id=domain_id)
        self._write('domain_admin', name, {'domain': 1}, scope='domain')
        self.assertEqual({'domain': 1},
                         self._read('domain_admin', name, scope='domain'))
        # The project's admin is not the domain's, and the project is in
        # another domain.
        self.assert_error(lib_exc.Forbidden, 'cloudprefs.forbidden',
                          self._write, 'project_admin', name, {'x': 1},
                          scope='domain', domain_id=domain_id)
        self.assert_error(lib_exc.Forbidden, 'cloudprefs.forbidden',
                          self._read, 'project_member', name,
                          scope='domain', domain_id=domain_id)
        self._write('system_admin', name, {'system': 1}, scope='domain',
                    domain_id=domain_id)
        self.assertEqual({'domain': 1, 'system': 1},
                         self._read('domain_admin', name, scope='domain'))

    @decorators.idempotent_id('a7d3e1c4-2b6f-4f0a-9c8e-6e1d7b3f2a95')
    def test_cloud_layer_and_the_merged_view(self):
        name = self.unique_name('defaults')
        self._delete_later('system_admin', name, scope='cloud')
        self._delete_later('project_manager', name, scope='project')
        self._delete_later('project_member', name)
        self._write('system_admin', name,
                    {'compiler': 'gcc', 'flags': ['-O2'], 'editor': 'vi'},
                    scope='cloud')
        for who in ('project_admin', 'project_manager', 'domain_admin'):
            self.assert_error(lib_exc.Forbidden, 'cloudprefs.forbidden',
                              self._write, who, name, {'x': 1},
                              scope='cloud')
        self.assertEqual('gcc', self._read('domain_admin', name,
                                           scope='cloud')['compiler'])
        self._write('project_manager', name, {'compiler': 'clang'},
                    scope='project')
        self._write('project_member', name, {'editor': None})
        self.assertEqual({'compiler': 'clang', 'flags': ['-O2']},
                         self._read('project_member', name,
                                    effective='true'))
        _, names = self.clients['project_member'].list_containers(
            microversion=V14, effective='true', prefix=name)
        self.assertEqual([name], names)
