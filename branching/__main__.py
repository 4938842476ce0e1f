"""``python -m branching`` and the ``branching`` command.

The command line is imported here, inside :func:`run`, so that a Ctrl-C while it loads (a
few hundred milliseconds) is one line and status 130 like any other, not a traceback.
"""

import sys


def run() -> None:
    try:
        from branching.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(130) from None
    main()


# Guarded: worker processes (``simulate --workers``) may import this module by name.
if __name__ == "__main__":
    run()
