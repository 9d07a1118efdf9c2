"""tools/benchmark.py refuses what it cannot measure."""

import argparse
import importlib.util
import os

import pytest

TOOL = os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
                    'benchmark.py')


def _load_tool():
    spec = importlib.util.spec_from_file_location('benchmark_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


benchmark = _load_tool()


def test_every_known_workload_has_its_script():
    for name in benchmark.WORKLOADS:
        assert os.path.isfile(os.path.join(benchmark.LUA_DIR, name + '.lua'))


def test_known_workloads_are_accepted():
    assert benchmark.workload_names('get_1k,post_merge,') == \
        'get_1k,post_merge'


def test_an_unknown_workload_is_refused():
    # wrk, given a script that does not exist, measured GET / and the
    # table printed the figures under the names asked for.
    with pytest.raises(argparse.ArgumentTypeError, match='get, post'):
        benchmark.workload_names('get,post')
