"""tools/benchmark.py refuses what it cannot measure, and stores its data
as the product does."""

import argparse
import os
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(__file__), '..', '..', 'tools')
sys.path.insert(0, os.path.abspath(TOOLS))

from benchmarking import runner  # noqa: E402  (the tools directory above)
from benchmarking import workloads  # noqa: E402
from cloudprefs.storage import owners  # noqa: E402


def test_every_known_workload_has_its_script():
    for name in workloads.WORKLOADS:
        assert os.path.isfile(os.path.join(workloads.LUA_DIR, name + '.lua'))


def test_known_workloads_are_accepted():
    assert workloads.workload_names('get_1k,post_merge,') == \
        'get_1k,post_merge'


def test_an_unknown_workload_is_refused():
    # wrk, given a script that does not exist, measured GET / and the
    # table printed the figures under the names asked for.
    with pytest.raises(argparse.ArgumentTypeError, match='get, post'):
        workloads.workload_names('get,post')


def test_scaling_sizes_are_positive_counts():
    assert runner.counts('1000,100000,') == [1000, 100000]
    for text in ('', '10,x', '0,10'):
        with pytest.raises(argparse.ArgumentTypeError):
            runner.counts(text)


def test_the_options_given_reach_the_seeding_driver(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'bench.sqlite')
    driver = workloads.open_driver(url, {
        'quota': {'containers_per_user': '2'},
        'keystone_authtoken': {'auth_url': 'http://keystone'}})
    try:
        assert driver.quota.containers == 2
    finally:
        driver.close()


@pytest.fixture
def driver(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'bench.sqlite')
    driver = workloads.open_driver(url)
    yield driver
    driver.close()


def test_seeded_data_has_what_the_api_would_store(driver):
    # The old tool inserted rows into the containers table: no usage, no
    # change feed. Through the driver both are there.
    workloads.seed(driver, ['bench-1', 'bench-2'])
    workloads.seed_layers(driver)
    assert driver.get_container('bench-1', 'bench').value == {
        'small': workloads.SMALL_VALUE}
    assert driver.get_container('bench-2', 'c10k').value == workloads.TEN_KB
    usage = driver.usage('bench-1')
    assert usage.containers == 3
    assert usage.bytes > 10 * 1024
    changed = driver.changes_since('bench-1', 0, 10)
    assert sorted(entry.container for entry in changed.changes) == [
        'bench', 'c10k', 'c1k']
    for level, owner in enumerate(workloads.LAYERS):
        layer = driver.get_container(owner.key, 'c1k').value
        assert layer['nested']['level'] == level
    assert driver.list_layers(owners.PROJECT) == ['bench-project']


def test_seeding_many_containers_spreads_them_over_users(driver):
    workloads.seed_containers(driver, 250, 'scale')
    assert driver.usage('scale-0').containers == 100
    assert driver.usage('scale-2').containers == 50
    workloads.seed_user_containers(driver, 'lister', 0, 5)
    assert list(driver.list_containers('lister')) == [
        'c%06d' % index for index in range(5)]
