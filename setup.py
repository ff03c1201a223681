"""One build step pyproject.toml cannot say: ship datasette_metadata.json inside the package.

The file stays at the top of the repository (the layout in docs/architecture.md); a wheel has no
repository around it, so the build copies it to billtracker/datasette_metadata.json, where
billtracker/paths.py finds it when the top-level one is absent. Everything else is pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

METADATA = "datasette_metadata.json"


class BuildPyWithMetadata(build_py):
    def run(self) -> None:
        super().run()
        self.mkpath(str(Path(self.build_lib, "billtracker")))
        self.copy_file(METADATA, str(Path(self.build_lib, "billtracker", METADATA)))


setup(cmdclass={"build_py": BuildPyWithMetadata})
