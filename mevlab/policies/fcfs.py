"""First-come first-served: order by arrival at the sequencer; searchers race on latency."""
from .base import Policy, register
from .nb import FCFS

FCFS_POLICY = register(Policy(
    "fcfs", FCFS, visibility="scenario", competition="latency", sorted_by=("t_seq",),
    description="arrival order; mempool visibility from the scenario"))
FCFS_PRIVATE = register(Policy(
    "fcfs-private", FCFS, visibility="private", competition="latency", sorted_by=("t_seq",),
    description="arrival order with a private mempool: searchers see nothing before ordering"))
