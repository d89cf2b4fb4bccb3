"""The ``graphsleuth`` command line: one short command per library function (:mod:`graphsleuth.api`)."""

from .main import main

__all__ = ["main"]
