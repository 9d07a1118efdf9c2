"""One user's largest allowed container does not stall everyone else:
while clients hammer it with writes and whole reads, another user's path
reads keep being served (tools/hostile_load.py large prints the
figures)."""

import json
import random
import threading
import time

import pytest
import requests

from tests.support import api_server

HAMMERING_CLIENTS = 8
SECONDS = 6


@pytest.fixture(scope='module')
def two_workers(tmp_path_factory):
    server = api_server.ApiServer(
        str(tmp_path_factory.mktemp('large')), None,
        sections={'DEFAULT': {'api_workers': '2', 'debug': 'false'}})
    server.start()
    yield server
    server.stop()


def fill_to_the_limit(server, user):
    """A container of nearly the default [api] max_container_size."""
    member = {'name': 'item', 'tags': ['a', 'b', 'c'], 'note': 'x' * 120}
    names = ['k%05d' % index for index in range(5500)]
    for start in range(0, len(names), 2000):
        batch = {name: member for name in names[start:start + 2000]}
        requests.post(server.url('/v1/big'), data=json.dumps(batch),
                      headers={'X-User-Id': user},
                      timeout=60).raise_for_status()
    size = int(requests.head(server.url('/v1'), headers={'X-User-Id': user},
                             timeout=60).headers['X-Bytes-Used'])
    assert 900 * 1024 < size <= 1024 * 1024
    return names


def test_a_large_container_under_load_stalls_nobody_else(two_workers):
    names = fill_to_the_limit(two_workers, 'heavy')
    requests.post(two_workers.url('/v1/small/k'), data='"v"',
                  headers={'X-User-Id': 'ordinary'}).raise_for_status()
    stop = threading.Event()
    heavy_answers = []

    def hammer(number):
        session = requests.Session()
        headers = {'X-User-Id': 'heavy'}
        while not stop.is_set():
            if number % 2:
                response = session.get(two_workers.url('/v1/big'),
                                       headers=headers, timeout=60)
            else:
                response = session.post(
                    two_workers.url('/v1/big/%s/n' % random.choice(names)),
                    data=str(number), headers=headers, timeout=60)
            heavy_answers.append(response.status_code)

    threads = [threading.Thread(target=hammer, args=(number,))
               for number in range(HAMMERING_CLIENTS)]
    for thread in threads:
        thread.start()
    latencies = []
    try:
        time.sleep(0.5)
        session = requests.Session()
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = session.get(two_workers.url('/v1/small/k'),
                                   headers={'X-User-Id': 'ordinary'},
                                   timeout=60)
            latencies.append(time.monotonic() - started)
            assert response.json() == 'v'
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert set(heavy_answers) <= {200, 204}
    assert len(heavy_answers) > HAMMERING_CLIENTS
    latencies.sort()
    # Before the heavy work took turns, 8 such clients made another
    # user's requests wait seconds; the bound here is generous on
    # purpose (the figures are the tool's business, not a test's).
    assert latencies[int(len(latencies) * 0.99)] < 1.0, latencies[-5:]
