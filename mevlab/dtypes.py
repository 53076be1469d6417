"""Aligned record dtypes written by the kernels into preallocated buffers."""
import numpy as np

#: One row per executed, reverted or dropped transaction (users and searchers).
#: ``lp_value`` is what the pool's LPs gained from the fill at external prices, fees
#: excluded: ``value_in - lp_fee_value - value_out`` when the fill trades with the pool;
#: in a batch auction the pool trades only the net, and its result is shared among the
#: fills on the net side.
#: Amounts are in token units of the pool side tendered (``amount_in``) and
#: received (``amount_out``); ``*_value`` fields are numeraire at the slot's
#: external price.
fill_dt = np.dtype([
    ("id", np.int64),
    ("tx", np.int64),            # user transaction index, -1 for searcher txs
    ("slot", np.int64),
    ("rollup", np.int32),
    ("pool", np.int32),
    ("position", np.int32),      # position in the slot's executed order
    ("sender_kind", np.int8),
    ("strategy", np.int8),
    ("status", np.int8),
    ("direction", np.int8),
    ("sender", np.int64),        # user tx index or searcher index
    ("bundle", np.int64),        # -1 if none
    ("amount_in", np.float64),
    ("amount_out", np.float64),
    ("min_out", np.float64),
    ("standalone_out", np.float64),  # users: output at the pre-slot pool state
    ("mev_out", np.float64),         # users: output had the searcher not front-run
    ("ext_price", np.float64),   # external price of the pool's x in its y token
    ("out_price", np.float64),   # numeraire per unit of the received token
    ("value_in", np.float64),
    ("value_out", np.float64),
    ("lp_fee_value", np.float64),
    ("lp_value", np.float64),    # the LPs' trading result from this fill, fees excluded
    ("gas", np.float64),
    ("fee_paid", np.float64),    # priority fee (users) or bid (searchers), numeraire
    ("submit_time", np.float64),
    ("inclusion_time", np.float64),
], align=True)

#: One row per MEV opportunity taken by a searcher.
extraction_dt = np.dtype([
    ("id", np.int64),
    ("slot", np.int64),
    ("rollup", np.int32),
    ("pool", np.int32),
    ("searcher", np.int32),
    ("strategy", np.int8),
    ("n_competitors", np.int32),
    ("victim", np.int64),        # user tx index or -1
    ("bundle", np.int64),        # bundle id of multi-leg trades, -1 if none
    ("gross", np.float64),       # numeraire, before gas and bid
    ("gas", np.float64),
    ("bid", np.float64),
    ("net", np.float64),
], align=True)

#: One row per slot: clock, close time, external price, counts.
slot_dt = np.dtype([
    ("id", np.int64),
    ("clock", np.int32),
    ("t_open", np.float64),
    ("t_close", np.float64),
    ("n_user", np.int32),
    ("n_fills", np.int32),
], align=True)
