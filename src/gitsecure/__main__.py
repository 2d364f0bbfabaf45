"""Allow ``python -m gitsecure``."""

from gitsecure.cli.main import main

raise SystemExit(main())
