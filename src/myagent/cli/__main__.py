"""`python -m myagent.cli ...` runs the `myagent` command."""

import sys

from myagent.cli import main

sys.exit(main())
