"""Policy defaults in code (oslo.policy).

Every handler of the route table names one of these rules; a test walks
the table to keep it so. Operators override any rule in the file named by
``[oslo_policy] policy_file`` (``tox -e genpolicy`` writes a sample).
"""

import itertools

from cloudprefs.policies import base
from cloudprefs.policies import containers
from cloudprefs.policies import layers


def list_rules():
    return list(itertools.chain(base.list_rules(), containers.list_rules(),
                                layers.list_rules()))
