"""End-to-end CLI tests, renderer tests and golden files for plans and apply results."""
