"""pix2pixHD editor: ``python main.py [SCENE]`` opens the editor; ``python main.py COMMAND …`` runs a tool.

``python main.py --help`` lists the commands; the dispatch lives in ``cli/``.
"""

from __future__ import annotations

import sys

from cli import main

if __name__ == "__main__":
    sys.exit(main())
