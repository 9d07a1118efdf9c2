"""The ceiling: a trivial WSGI app under eventlet.wsgi in one process,
answering every request with the same small JSON body.

    python tools/benchmarking/trivial_app.py PORT BODY

Run as a script by :func:`benchmarking.servers.start_trivial`, importing
nothing but eventlet and the standard library, so that the process is as
light as the app it stands for.
"""

import sys


def serve(port, body):
    import eventlet
    eventlet.monkey_patch()
    import eventlet.wsgi

    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Content-Length', str(len(body)))])
        return [body]

    eventlet.wsgi.server(eventlet.listen(('127.0.0.1', port)), app,
                         log_output=False, custom_pool=eventlet.GreenPool(
                             1000))


if __name__ == '__main__':
    serve(int(sys.argv[1]), sys.argv[2].encode('utf-8'))
