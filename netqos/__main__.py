import sys

from netqos.cli import main

sys.exit(main())
