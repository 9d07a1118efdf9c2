"""What the benchmark asks for and the data it asks about.

The workloads are wrk Lua scripts in tools/bench/, one per name. The data
they read and write is stored through the product's own storage driver,
as the API would store it: each container with its usage, change-feed and
path-index records, within the service's quotas unless a caller raises
them for its purpose (as an operator would).
"""

import argparse
import concurrent.futures
import itertools
import os

from oslo_config import cfg

import benchmarking

from cloudprefs import conf as cloudprefs_conf
from cloudprefs import storage
from cloudprefs.storage import owners

LUA_DIR = os.path.join(benchmarking.REPOSITORY, 'tools', 'bench')
WORKLOADS = ['get_path', 'get_1k', 'get_10k', 'post_path', 'post_merge',
             'mix', 'get_effective']

SMALL_VALUE = {'theme': 'dark', 'lang': 'en', 'n': 1, 'flags': ['a', 'b',
               'c'], 'note': 'x' * 24}
ONE_KB = {'k%02d' % i: 'v' * 20 for i in range(36)}
TEN_KB = {'k%03d' % i: 'v' * 20 for i in range(360)}

# The shared layers get_effective.lua reads below each user's c1k (API
# 1.4), lowest first; its requests name bench-project of bench-domain.
LAYERS = (owners.Owner(owners.CLOUD, None),
          owners.Owner(owners.DOMAIN, 'bench-domain'),
          owners.Owner(owners.PROJECT, 'bench-project'))

# Parallel writers while seeding: enough to keep a database server busy,
# few enough for SQLite's one writer and a pool of default size.
SEEDING_THREADS = 8


def workload_names(text):
    """--workloads: known names only (wrk, given a script that does not
    exist, measures GET / instead and the table would say otherwise)."""
    names = [name for name in text.split(',') if name]
    unknown = sorted(set(names) - set(WORKLOADS))
    if unknown:
        raise argparse.ArgumentTypeError(
            'unknown workload(s): %s (known: %s)' % (
                ', '.join(unknown), ', '.join(WORKLOADS)))
    return ','.join(names)


def open_driver(connection, options=None):
    """The storage driver for ``connection`` with the service's default
    options, but for ``options`` ({section: {option: value}}, as --set
    gives them; options the service does not have are left out)."""
    conf = cfg.ConfigOpts()
    cloudprefs_conf.register_opts(conf)
    conf([], project='cloudprefs', default_config_files=[])
    for section, values in (options or {}).items():
        group = None if section == 'DEFAULT' else section
        for name, value in values.items():
            try:
                conf.set_override(name, value, group=group)
            except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
                pass    # auth_token's and other libraries' options
    conf.set_override('connection', connection, group='database')
    driver = storage.driver_class(connection)(connection, conf)
    driver.prepare()
    return driver


def store_all(driver, writes):
    """Store ``writes`` ([(owner key, container name, value)]), each
    container replaced whole, a few at a time."""
    def store(write):
        driver.replace(*write)
    writes = iter(writes)
    with concurrent.futures.ThreadPoolExecutor(SEEDING_THREADS) as pool:
        # A thousand at a time: a million pending futures would not fit.
        while True:
            chunk = list(itertools.islice(writes, 1000))
            if not chunk:
                return
            for _ in pool.map(store, chunk):
                pass


def seed(driver, user_ids):
    """Each user's containers the workloads use: ``bench`` (a small object
    under ``small``), ``c1k`` and ``c10k`` (about 1 and 10 KB)."""
    store_all(driver, [
        (user_id, name, value) for user_id in user_ids
        for name, value in (('bench', {'small': SMALL_VALUE}),
                            ('c1k', ONE_KB), ('c10k', TEN_KB))])


def seed_layers(driver):
    """A 1 KB c1k in each of :data:`LAYERS`, each overriding some keys of
    the one below and holding a nested object of its own."""
    writes = []
    for index, owner in enumerate(LAYERS):
        layer = {'k%02d' % i: 'layer%d-%s' % (index, 'v' * 14)
                 for i in range(index, 36, 3)}
        layer['nested'] = {'level': index, 'list': list(range(index + 1))}
        writes.append((owner.key, 'c1k', layer))
    store_all(driver, writes)


def seed_containers(driver, count, user_prefix):
    """``count`` small containers over users of 100 containers each
    (what GET and POST must stay flat on as the store grows)."""
    store_all(driver, (('%s-%d' % (user_prefix, index // 100),
                        'c%d' % (index % 100), SMALL_VALUE)
                       for index in range(count)))


def seed_user_containers(driver, user_id, start, stop):
    """Containers c<start>..c<stop - 1> (each ``{}``) of one user."""
    store_all(driver, ((user_id, 'c%06d' % index, {})
                       for index in range(start, stop)))


# A large container ----------------------------------------------------------

LARGE_MEMBERS = 20000
LARGE_CONTAINER_LIMIT = 4 * 1024 * 1024


def large_member(index):
    """One of the large container's ~190-byte objects."""
    return {'name': 'item %d' % index, 'tags': ['a', 'b', 'c'], 'n': index,
            'enabled': index % 2 == 0, 'note': 'x' * 100}


def seed_large(driver, user_id, name='large'):
    """The large container, stored whole (``driver`` must allow
    :data:`LARGE_CONTAINER_LIMIT`)."""
    driver.replace(user_id, name, {'k%05d' % index: large_member(index)
                                   for index in range(LARGE_MEMBERS)})
