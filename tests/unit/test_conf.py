"""Configuration options: public names, defaults and the sample."""

import subprocess
import sys

from cloudprefs.conf import opts


def test_public_option_names_and_defaults():
    groups = {group: {opt.name: opt.default for opt in group_opts}
              for group, group_opts in opts.list_opts()}
    assert groups['DEFAULT']['bind_host'] == '0.0.0.0'
    assert groups['DEFAULT']['bind_port'] == 8888
    assert groups['DEFAULT']['auth_strategy'] == 'keystone'
    assert groups['DEFAULT']['api_paste_config'] == 'api-paste.ini'
    assert 'state_path' in groups['DEFAULT']
    assert groups['database']['connection'] is None
    assert groups['api']['max_depth'] == 32
    assert groups['api']['max_request_body_size'] == 1024 * 1024
    assert groups['api']['max_container_size'] == 1024 * 1024
    assert groups['quota']['containers_per_user'] == 1000
    assert groups['quota']['bytes_per_user'] == 64 * 1024 * 1024
    assert groups['DEFAULT']['client_socket_timeout'] == 60
    assert groups['DEFAULT']['client_header_timeout'] == 15.0
    assert groups['database']['max_pool_size'] == 32
    assert groups['database']['max_overflow'] == 0


def test_every_option_is_documented():
    for _group, group_opts in opts.list_opts():
        for opt in group_opts:
            assert opt.help and len(opt.help) > 20, opt.name


def test_config_generator_writes_the_sample(tmp_path):
    output = tmp_path / 'cloudprefs.conf.sample'
    subprocess.run(
        [sys.executable, '-m', 'oslo_config.generator', '--config-file',
         'etc/cloudprefs/cloudprefs-config-generator.conf', '--output-file',
         str(output)], check=True, timeout=120)
    sample = output.read_text()
    for section in ('[DEFAULT]', '[api]', '[database]',
                    '[keystone_authtoken]', '[cors]', '[healthcheck]'):
        assert section in sample
    assert '#bind_port = 8888' in sample
    assert '#max_container_size = 1048576' in sample
    assert '#allow_headers = Content-Type,X-Auth-Token,If-Match' in sample
    assert 'X-Container-Count,X-Bytes-Used' in sample
    # auth_token's options, with the defaults cloudprefs gives them.
    assert '#www_authenticate_uri = <None>' in sample
    assert '#include_service_catalog = false' in sample
