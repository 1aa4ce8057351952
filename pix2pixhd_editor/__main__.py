"""``python -m pix2pixhd_editor [SCENE | COMMAND …]``: the same program as the pix2pixhd-editor script."""

import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main())
