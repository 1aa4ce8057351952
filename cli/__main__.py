"""``python -m cli [SCENE | COMMAND …]``: the same program as ``python -m pix2pixhd_editor``."""

import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main())
