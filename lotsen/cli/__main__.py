"""`python -m lotsen.cli`."""

from lotsen.cli.main import main

main()
