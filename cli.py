#!/usr/bin/env python
"""Run the capsnet command line from a source checkout: `python cli.py train ...`.

The same as the installed `capsnet` console script and `python -m capsnet`
(all three call `capsnet.cli.main`).
"""

import sys

from capsnet.cli import main

if __name__ == "__main__":
    sys.exit(main())
