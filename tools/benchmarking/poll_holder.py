"""Idle long-polls held on a server until this process is killed.

    python tools/benchmarking/poll_holder.py PORT COUNT WAIT

Run as a script by :class:`benchmarking.long_polls.LongPolls`, with the
standard library only; prints ``holding`` once every poll is open.
"""

import asyncio
import re
import sys


def hold(port, count, wait):
    """Hold ``count`` idle long-polls on 127.0.0.1:``port`` until killed,
    asking again whenever one is answered, after its ``Retry-After`` when
    it has one (the server would not hold it), as the client library does
    (in its own process, so that its work is not the server's nor
    wrk's). Each asks to be held ``wait`` seconds."""

    async def hold_one(index):
        request = ('GET /v1?since=0&wait=%d HTTP/1.1\r\nHost: bench\r\n'
                   'X-User-Id: idle-%d\r\n\r\n' % (wait, index)
                   ).encode('ascii')
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        while True:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b'\r\n\r\n')
            length = re.search(rb'(?i)content-length: *([0-9]+)', head)
            await reader.readexactly(int(length.group(1)))
            retry_after = re.search(rb'(?i)retry-after: *([0-9]+)', head)
            if retry_after:
                await asyncio.sleep(int(retry_after.group(1)))

    async def hold_all():
        tasks = []
        for index in range(count):
            tasks.append(asyncio.ensure_future(hold_one(index)))
            if index % 100 == 99:
                await asyncio.sleep(0.05)
        await asyncio.sleep(1)
        print('holding', flush=True)
        await asyncio.gather(*tasks)

    asyncio.run(hold_all())
    return 0


if __name__ == '__main__':
    sys.exit(hold(*(int(argument) for argument in sys.argv[1:4])))
