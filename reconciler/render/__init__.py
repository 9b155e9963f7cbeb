"""Renderers: the JSON plan codec, human text, graphs and apply results (they read plans)."""
