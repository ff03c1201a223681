"""billtracker's Datasette plugins, registered through the `datasette` entry point in pyproject.toml."""
