"""`python -m reconciler` runs the same CLI as the `accesscodes` script."""

from reconciler.cli.main import main

raise SystemExit(main())
