"""The ``poto-sessions-admin`` console script: the admin tool (cli/) compiled into the native module."""

import sys

from . import _native


def main() -> None:
    sys.exit(_native._admin_main(sys.argv))
