"""``python -m cloudprefs`` is ``cloudprefs-api``."""

import sys

from cloudprefs.cmd import api

sys.exit(api.main())
