"""`python -m revsim` runs the command line, as the `revsim` script does."""

from revsim.cli import main

main()
