"""flightlog: the flight recorder for ML systems.

Importing this package has no side effects: no thread, no file, no handler.
"""

from flightlog._version import __version__

__all__ = ["__version__"]
