"""Priority ordering: highest fee first; searchers compete by bids paid to the sequencer."""
from .base import Policy, register
from .nb import PRIORITY

PRIORITY_POLICY = register(Policy(
    "priority", PRIORITY, visibility="public", competition="bid", sorted_by=("-priority_fee", "t_seq"),
    description="priority fee order, public mempool, bids go to the sequencer"))
