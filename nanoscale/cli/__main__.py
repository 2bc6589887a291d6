"""`python -m nanoscale.cli`: the same as the `nanoscale` console script."""

import sys

from nanoscale.cli import main

sys.exit(main())
