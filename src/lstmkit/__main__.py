"""``python -m lstmkit`` runs the command line."""

import sys

try:
    from lstmkit.cli import entry
except KeyboardInterrupt:  # Ctrl-C while the command line is still being imported
    print("lstmkit: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(entry())
