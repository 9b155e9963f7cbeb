"""The simulated Tencent Cloud: a persistent, faithful CVM image API (SPEC §6); imports no core."""

from reconciler.cloudsim.admin import Account
from reconciler.cloudsim.clock import Clock, ManualClock, SystemClock
from reconciler.cloudsim.dispatch import SERVICES, CloudSim
from reconciler.cloudsim.errors import ApiError
from reconciler.cloudsim.settings import Settings

__all__ = [
    "SERVICES",
    "Account",
    "ApiError",
    "Clock",
    "CloudSim",
    "ManualClock",
    "Settings",
    "SystemClock",
]
