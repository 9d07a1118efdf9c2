"""cloudprefs-api's own server: the WSGI application on eventlet.

Everything that knows eventlet is here, and only ``cloudprefs-api``
(:mod:`cloudprefs.cmd.api`) imports it: the monkey patching and the green
PostgreSQL wait (:mod:`.patching`, :mod:`.psycopg_wait`), eventlet.wsgi's
protocol made hard to abuse (:mod:`.protocol`) and the process model with
its workers, signals and reloads (:mod:`.server`). The application, the
storage drivers and the other commands run on native threads and never
import eventlet; under cloudprefs-api they get green threads through the
patched ``threading`` and ``socket`` modules.

OpenStack is retiring eventlet: deleting this package loses
``cloudprefs-api`` and nothing else (uwsgi or mod_wsgi serve
``cloudprefs.wsgi.api:application``).
"""
