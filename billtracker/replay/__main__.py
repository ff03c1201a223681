"""`python -m billtracker.replay --samples DIR --port 8765` serves the replay in the foreground."""

from .server import main

main()
