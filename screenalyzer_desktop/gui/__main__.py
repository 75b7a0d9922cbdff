import sys

from screenalyzer_desktop.gui.app import main

sys.exit(main())
