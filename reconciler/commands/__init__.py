"""Click commands: parse options, call the pipeline, pick a renderer, map errors to exit codes."""
