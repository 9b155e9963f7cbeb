"""Plain, immutable value types shared by every stage: desired, observed, plan."""
