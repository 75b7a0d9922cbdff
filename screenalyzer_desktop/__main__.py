import sys

from screenalyzer_desktop.cli import main

sys.exit(main())
