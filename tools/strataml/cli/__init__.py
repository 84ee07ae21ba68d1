"""Command line: parse, call the library, print, exit. One module per command group."""

from strataml.cli.app import doctor_main, index_main, main, run_main

__all__ = ["doctor_main", "index_main", "main", "run_main"]
