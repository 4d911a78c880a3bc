"""`python -m capsnet ...`: the command line (see `capsnet.cli`)."""

import sys

from capsnet.cli import main

sys.exit(main())
