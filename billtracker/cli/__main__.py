"""`python -m billtracker.cli`."""

from billtracker.cli import cli

cli()
