"""The apply engine: the executor that walks the step DAG, clocks, settings, hooks and the lock."""
