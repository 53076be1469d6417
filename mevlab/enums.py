"""Integer codes shared by kernels, records and DataFrames.

Kernels see plain ints; the Python layer maps them to names with ``*_NAMES``.
"""
from enum import IntEnum


class Direction(IntEnum):
    """Which token a swap tenders. ``x`` is the risky asset, ``y`` the numeraire."""
    NONE = -1
    SELL_X = 0   # x in, y out
    SELL_Y = 1   # y in, x out


class Strategy(IntEnum):
    USER = 0
    ARBITRAGE = 1       # CEX-DEX arbitrage at the top of a slot
    BACKRUN = 2
    SANDWICH_FRONT = 3
    SANDWICH_BACK = 4


class Status(IntEnum):
    EXECUTED = 0
    REVERTED = 1
    DROPPED = 2
    DELAYED = 3


class SenderKind(IntEnum):
    USER = 0
    SEARCHER = 1


STRATEGY_NAMES = {0: "user", 1: "arbitrage", 2: "backrun", 3: "sandwich", 4: "sandwich"}
STRATEGY_LEG_NAMES = {0: "user", 1: "arbitrage", 2: "backrun",
                      3: "sandwich_front", 4: "sandwich_back"}
STATUS_NAMES = {0: "executed", 1: "reverted", 2: "dropped", 3: "delayed"}
SENDER_NAMES = {0: "user", 1: "searcher"}
DIRECTION_NAMES = {-1: "none", 0: "sell_x", 1: "sell_y"}
