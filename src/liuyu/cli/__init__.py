"""The ``liuyu`` command line (Typer): one module per area, wired in main.py."""
