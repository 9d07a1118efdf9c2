"""cloudprefs-manage export/import moves every container between drivers
with nothing lost: MongoDB → PostgreSQL → embedded SQLite → MariaDB →
MongoDB, compared at each step."""

import json
import os
import subprocess
import sys

from cloudprefs.storage import mongodb as mongodb_driver
from cloudprefs.storage import owners
from cloudprefs.storage import records
from cloudprefs.storage import sql
from tests import storage_contract
from tests.support import config
from tests.support.config import canonical
from tests.support.config import make_conf

USERS = ['alice', 'bob', 'bob ', 'Bob', '🦄', "o'brien", '$cmd', 'a.b']
# The shared layers (API 1.4) move with the users' containers.
LAYERS = [owners.Owner(owners.PROJECT, 'p-1'),
          owners.Owner(owners.DOMAIN, 'default'),
          owners.Owner(owners.CLOUD, None)]


# Far enough ahead to outlast the test; carried by every hop.
EXPIRES_AT = records.now_s() + 30 * 24 * 3600


def fill(driver):
    for user in USERS:
        driver.merge(user, 'defaults', {'build_config': ['a', 'b']},
                     expiry=records.Expiry(EXPIRES_AT))
        for index, key in enumerate(storage_contract.ODD_KEYS):
            name = key or 'empty'
            driver.merge(user, name, {key: {key: index},
                                      'v': storage_contract.ODD_VALUES})
    for owner in LAYERS:
        driver.merge(owner.key, 'defaults', {'layer': owner.layer})


def snapshot(driver):
    return [(user, name, canonical(container.value), container.expires_at)
            for user, name, container in driver.export_containers()]


def manage(workdir, url, *args, stdin=None):
    conf_path = config.write_config_file(
        os.path.join(workdir, 'manage-%d.conf' % abs(hash(url))),
        {'database': {'connection': url}})
    script = os.path.join(os.path.dirname(sys.executable),
                          'cloudprefs-manage')
    result = subprocess.run([script, '--config-file', conf_path, *args],
                            input=stdin, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    return result


def test_export_import_round_trip_across_drivers(tmp_path, mongodb_url,
                                                 connection_for):
    source = mongodb_driver.MongoDBDriver(mongodb_url,
                                          make_conf(mongodb_url))
    fill(source)
    expected = snapshot(source)
    assert len(expected) == len(USERS) * (
        1 + len(storage_contract.ODD_KEYS)) + len(LAYERS)
    assert [row[3] for row in expected].count(EXPIRES_AT) == len(USERS)
    source.close()

    chain = [mongodb_url, connection_for('postgresql'),
             connection_for('sqlite'), connection_for('mysql'),
             connection_for('mongodb')]
    workdir = str(tmp_path)
    for number, (from_url, to_url) in enumerate(zip(chain, chain[1:])):
        dump = os.path.join(workdir, 'export-%d.jsonl' % number)
        manage(workdir, from_url, 'export', '--output', dump)
        with open(dump, 'rb') as lines:
            exported = [json.loads(line) for line in lines]
        assert len(exported) == len(expected)
        layers = [(line['layer'], line['layer_id']) for line in exported
                  if 'layer' in line]
        assert len(layers) == len(LAYERS)
        assert set(layers) == {tuple(owner) for owner in LAYERS}
        assert all('user_id' not in line for line in exported
                   if 'layer' in line)
        assert all(owners.is_user(line['user_id']) for line in exported
                   if 'user_id' in line)
        manage(workdir, to_url, 'import', '--input', dump)
        target = (mongodb_driver.MongoDBDriver if to_url.startswith('mongo')
                  else sql.SQLDriver)(to_url, make_conf(to_url))
        try:
            assert snapshot(target) == expected, to_url
        finally:
            target.close()


def test_import_refuses_a_bad_line(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'db.sqlite')
    conf_path = config.write_config_file(
        str(tmp_path / 'manage.conf'), {'database': {'connection': url}})
    script = os.path.join(os.path.dirname(sys.executable),
                          'cloudprefs-manage')
    result = subprocess.run(
        [script, '--config-file', conf_path, 'import'],
        input=b'{"user_id": "u", "container": "c", "value": {}}\n'
              b'{"layer": "cloud", "container": "c", "value": {}}\n'
              b'{"layer": "team", "container": "d", "value": {}}\n',
        capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b'line 3' in result.stderr


def test_import_leaves_out_what_expired_since_the_export(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'db.sqlite')
    manage(str(tmp_path), url, 'db_sync')
    result = manage(str(tmp_path), url, 'import', stdin=(
        b'{"user_id": "u", "container": "gone", "value": {},'
        b' "expires_at": 1000}\n'
        b'{"user_id": "u", "container": "kept", "value": {"a": 1},'
        b' "expires_at": 253402300799}\n'
        b'{"user_id": "u", "container": "always", "value": {}}\n'))
    assert b'Imported 2 containers (1 expired' in result.stderr
    driver = sql.SQLDriver(url, make_conf(url))
    try:
        assert driver.list_containers('u') == ['always', 'kept']
        assert driver.get_meta('u', 'kept').expires_at == 253402300799
        assert driver.get_meta('u', 'always').expires_at is None
    finally:
        driver.close()
    bad = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'cloudprefs-manage'),
         '--config-file', config.write_config_file(
             str(tmp_path / 'bad.conf'), {'database': {'connection': url}}),
         'import'],
        input=b'{"user_id": "u", "container": "c", "value": {},'
              b' "expires_at": "soon"}\n', capture_output=True, timeout=60)
    assert bad.returncode != 0 and b'line 1' in bad.stderr
