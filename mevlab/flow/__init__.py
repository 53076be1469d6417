"""Order flow: synthetic multi-rollup generation and replay of recorded traces."""
from .replay import load_table, read_flow
from .synthetic import FLOW_COLUMNS, generate, price_path

__all__ = ["FLOW_COLUMNS", "generate", "load_table", "price_path", "read_flow"]
