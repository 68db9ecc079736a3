"""Thin typer CLI: parse -> call the library -> render. One module per command group."""
