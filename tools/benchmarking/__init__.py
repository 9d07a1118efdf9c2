"""The benchmark of cloudprefs-api (``tools/benchmark.py``), by part.

- :mod:`runner`: the options and the rounds, one workload after the other
  against each server and the ceiling, interleaved;
- :mod:`servers`: the database and the servers measured (cloudprefs-api,
  uwsgi, a notifying cloudprefs-api, the trivial app, Keystone);
- :mod:`workloads`: the workload names and the data they use, stored
  through the product's storage driver;
- :mod:`measuring`: wrk, and what the server spent around each run;
- :mod:`report`: medians, ratios and tables;
- :mod:`long_polls` and :mod:`scenarios`: the held long-polls and the
  other modes (a large container, scaling, soak);
- :mod:`trivial_app` and :mod:`poll_holder`: scripts run in processes of
  their own, importing no more than they need.
"""

import os

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
