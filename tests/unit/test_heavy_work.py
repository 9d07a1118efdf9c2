"""Heavy JSON work takes turns and steps aside: a small request runs
between the steps of large ones instead of after all of them."""

import subprocess
import sys
import textwrap

# Green threads under eventlet, as in cloudprefs-api; events in order.
PREAMBLE = textwrap.dedent('''
    import eventlet
    eventlet.monkey_patch()
    import time
    from cloudprefs.storage import heavy_work

    events = []

    def busy(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
''')


def _events_of(script):
    """The events a script printed, in the order they happened."""
    return subprocess.run([sys.executable, '-c', script], check=True,
                          capture_output=True, text=True,
                          timeout=60).stdout.split()


SCRIPT = PREAMBLE + textwrap.dedent('''
    def heavy(name):
        for step in range(2):
            with heavy_work.turns.step(heavy_work.HEAVY_FROM_BYTES):
                events.append('%s%d' % (name, step))
                busy(0.02)

    def light():
        with heavy_work.turns.step(100):
            events.append('light')

    threads = [eventlet.spawn(heavy, name) for name in 'abc']
    # A small request arrives while the heavy ones are under way.
    threads.append(eventlet.spawn_after(0.005, light))
    for thread in threads:
        thread.wait()
    print(' '.join(events))
''')


def test_small_work_runs_between_the_steps_of_large_work():
    events = _events_of(SCRIPT)
    assert sorted(events) == sorted(['a0', 'a1', 'b0', 'b1', 'c0', 'c1',
                                     'light'])
    # Not after all six heavy steps: after the one under way.
    assert events.index('light') == 1, events
    # One heavy step at a time, each heavy job's steps in order.
    for name in 'abc':
        assert events.index(name + '0') < events.index(name + '1')


WAITING_SCRIPT = PREAMBLE + textwrap.dedent('''
    def heavy(name):
        for step in range(3):
            with heavy_work.turns.step(heavy_work.HEAVY_FROM_BYTES):
                events.append('heavy')
                busy(0.03)

    def light():
        # A small request waits for its database a few times.
        events.append('light-start')
        for _ in range(4):
            eventlet.sleep(0.002)
        events.append('light-end')

    threads = [eventlet.spawn(heavy, name) for name in 'abcd']
    threads.append(eventlet.spawn_after(0.01, light))
    for thread in threads:
        thread.wait()
    print(' '.join(events))
''')


def test_a_small_request_that_waits_is_not_passed_by_queued_steps():
    events = _events_of(WAITING_SCRIPT)
    assert events.count('heavy') == 12
    during = events[events.index('light-start'):events.index('light-end')]
    # Each of its waits used to let the next queued step in (4 steps).
    assert during.count('heavy') <= 1, events
