"""The pure planner: ownership, diff (changes + drift), the step DAG, quota, fingerprint."""

from reconciler.planner.fingerprint import fingerprint, fingerprint_changes, plan_fingerprint
from reconciler.planner.plan import make_plan

__all__ = ["fingerprint", "fingerprint_changes", "make_plan", "plan_fingerprint"]
