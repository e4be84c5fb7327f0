"""Allow ``python -m passline_upload``."""

import sys

from passline_upload.cli import main

sys.exit(main())
