"""`python -m soundstage` runs the CLI."""

from soundstage.cli import main

main()
