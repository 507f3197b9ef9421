"""``python -m revsim.cli``: the ``revsim`` command (the tests run it so, in a child process)."""

from revsim.cli import main

main()
