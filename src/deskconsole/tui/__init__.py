"""The deskconsole console (Textual). Start it with `deskconsole` or `make_app(...)`."""
