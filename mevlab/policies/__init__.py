"""Ordering policies: one module per policy, one dispatch kernel, and ``check_policy``."""
from . import batch_auction, commit_reveal, fcfs, priority, threshold  # noqa: F401  (registers)
from .base import Policy, get_policy, list_policies, register
from .check import check_policy

__all__ = ["Policy", "check_policy", "get_policy", "list_policies", "register"]
