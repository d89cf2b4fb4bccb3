"""``python -m graphsleuth`` runs the command line."""

from .cli import main

main()
