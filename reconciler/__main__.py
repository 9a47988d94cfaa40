"""`python -m reconciler` runs the same CLI as the `accesscodes` script."""

from reconciler.cli import main

raise SystemExit(main())
