"""The ``bizcase`` console script.

The command line imports typer, and each command then numpy, pydantic and
whatever else it needs, before it can do anything; importing it inside this
guard means Ctrl-C at any moment, even in the first half second, ends with one
line and status 130 rather than a traceback.
"""

import sys


def main() -> None:
    try:
        from addin.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.stderr.write("bizcase: interrupted\n")
        sys.exit(130)
