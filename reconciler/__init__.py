"""reconciler: GitOps for Tencent Cloud CVM custom images (plan and apply from YAML)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
