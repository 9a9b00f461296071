"""Run the command line: ``python -m tp_assets``."""

from tp_assets.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
