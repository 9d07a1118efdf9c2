"""Writers of one container in a process take turns."""

import threading
import time

from cloudprefs.storage import turns as writer_turns


def test_writers_of_one_container_take_turns():
    turns = writer_turns.WriterTurns()
    inside = []
    overlaps = []

    def write(name):
        with turns.turn('u', name):
            inside.append(name)
            if inside.count(name) > 1:
                overlaps.append(name)
            time.sleep(0.005)   # room for an overlap, were there no turns
            inside.remove(name)

    threads = [threading.Thread(target=write, args=(name,))
               for name in ['a'] * 5 + ['b'] * 5]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert len(turns) == 0      # nothing kept once every writer is done


def test_writers_of_other_containers_do_not_wait():
    turns = writer_turns.WriterTurns()
    other_inside = threading.Event()

    def write_other():
        with turns.turn('u', 'b'):
            other_inside.set()

    with turns.turn('u', 'a'):
        other = threading.Thread(target=write_other)
        other.start()
        assert other_inside.wait(10)
    other.join()
