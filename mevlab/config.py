"""Scenario configuration: frozen, validated dataclasses with a TOML round-trip.

Every spec validates itself in ``__post_init__``, so ``dataclasses.replace``
re-validates. Nested specs may be given as dicts (as they come from TOML); all
problems, nested ones included, are reported at once in one
:class:`~mevlab.errors.ConfigError`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

import tomli_w

from .errors import ConfigError

SECONDS_PER_YEAR = 365.0 * 24 * 3600
PRESET_DIR = Path(__file__).resolve().parent.parent / "data" / "presets"


# --------------------------------------------------------------------------- field helpers
def num(default, lo=None, hi=None, *, lo_open=False, hi_open=False, unit="", integer=False,
        allow_inf=False):
    """A numeric field with its accepted range (checked and reported by name)."""
    return field(default=default, metadata=dict(kind="num", lo=lo, hi=hi, lo_open=lo_open,
                                                 hi_open=hi_open, unit=unit, integer=integer,
                                                 allow_inf=allow_inf))


def choice(default, choices):
    return field(default=default, metadata=dict(kind="choice", choices=tuple(choices)))


def nested(cls, default=dataclasses.MISSING, *, many=False):
    kw = dict(metadata=dict(kind="nested", cls=cls, many=many))
    if default is dataclasses.MISSING:
        return field(**kw)
    return field(default_factory=default, **kw)


def text(default=dataclasses.MISSING, *, many=False, nonempty=False):
    kw = dict(metadata=dict(kind="text", many=many, nonempty=nonempty))
    if default is dataclasses.MISSING:
        return field(**kw)
    return field(default=default, **kw)


def _range_text(md):
    lo, hi = md["lo"], md["hi"]
    left = "(" if md["lo_open"] or lo is None else "["
    right = ")" if md["hi_open"] or hi is None else "]"
    unit = f" {md['unit']}" if md["unit"] else ""
    kind = "an integer" if md["integer"] else "a number"
    return (f"{kind} in {left}{'-inf' if lo is None else lo}, "
            f"{'inf' if hi is None else hi}{right}{unit}")


def _check_num(v, md):
    """Return (coerced value, error message or None)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        try:  # numpy scalars
            import numpy as np
            if isinstance(v, np.generic) and np.issubdtype(type(v), np.number):
                v = v.item()
            else:
                raise TypeError
        except TypeError:
            return v, f"got {v!r}; expected {_range_text(md)}"
    if md["integer"]:
        if isinstance(v, float):
            if not v.is_integer():
                return v, f"got {v!r}; expected {_range_text(md)}"
            v = int(v)
    else:
        v = float(v)
    if isinstance(v, float) and not math.isfinite(v) and not (md["allow_inf"] and v == math.inf):
        return v, f"got {v!r}; expected {_range_text(md)}"
    lo, hi = md["lo"], md["hi"]
    bad = ((lo is not None and (v < lo or (md["lo_open"] and v == lo)))
           or (hi is not None and (v > hi or (md["hi_open"] and v == hi))))
    return v, (f"got {v!r}; expected {_range_text(md)}" if bad else None)


class _Spec:
    """Base: coerces and validates declared fields, collecting every problem."""

    def __post_init__(self):
        problems = self._validate()
        if problems:
            raise ConfigError(problems)

    def _validate(self):
        problems = []
        for f in fields(self):
            md = f.metadata
            kind = md.get("kind")
            v = getattr(self, f.name)
            if kind == "num":
                v2, err = _check_num(v, md)
                if err:
                    problems.append((f.name, err))
                else:
                    object.__setattr__(self, f.name, v2)
            elif kind == "choice":
                if v not in md["choices"]:
                    problems.append((f.name, f"got {v!r}; expected one of {list(md['choices'])}"))
            elif kind == "text":
                if md["many"]:
                    if isinstance(v, str) or not isinstance(v, (list, tuple)):
                        problems.append((f.name, f"got {v!r}; expected a list of strings"))
                        continue
                    v = tuple(v)
                    object.__setattr__(self, f.name, v)
                    items = v
                else:
                    items = (v,)
                for it in items:
                    if not isinstance(it, str) or (md["nonempty"] and not it.strip()):
                        problems.append((f.name, f"got {it!r}; expected a non-empty string"
                                         if md["nonempty"] else f"got {it!r}; expected a string"))
            elif kind == "nested":
                v, sub = _coerce_nested(f.name, v, md["cls"], md["many"])
                problems.extend(sub)
                object.__setattr__(self, f.name, v)
        if not problems:
            problems.extend(self._check())
        return problems

    def _check(self):
        """Cross-field checks, run once every field is individually valid."""
        return []

    def to_dict(self):
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, _Spec):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = [x.to_dict() if isinstance(x, _Spec) else x for x in v]
            out[f.name] = v
        return out


def _build(cls, d, where):
    """Build ``cls`` from a dict, returning (obj or None, problems prefixed with ``where``)."""
    if isinstance(d, cls):
        return d, []
    if not isinstance(d, dict):
        return None, [(where, f"got {d!r}; expected a table of {cls.__name__} fields")]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    problems = [(f"{where}.{k}", f"unknown field; accepted: {sorted(known)}") for k in unknown]
    missing = [f.name for f in fields(cls)
               if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
               and f.name not in d]
    problems += [(f"{where}.{k}", "required field is missing") for k in missing]
    if missing:
        return None, problems
    try:
        obj = cls(**{k: v for k, v in d.items() if k in known})
    except ConfigError as e:
        return None, problems + [(f"{where}.{f}" if f else where, m) for f, m in e.problems]
    return (None if problems else obj), problems


def _coerce_nested(name, v, cls, many):
    if not many:
        return _build(cls, v, name)
    if isinstance(v, (str, bytes, dict)) or not hasattr(v, "__iter__"):
        return v, [(name, f"got {v!r}; expected a list of {cls.__name__}")]
    out, problems = [], []
    for i, item in enumerate(v):
        obj, sub = _build(cls, item, f"{name}[{i}]")
        out.append(obj)
        problems.extend(sub)
    return tuple(out), problems


# --------------------------------------------------------------------------- specs
@dataclass(frozen=True)
class AssetSpec(_Spec):
    """A risky asset with a GBM external (CEX) price in the numeraire."""
    name: str = text("ETH", nonempty=True)
    price: float = num(3000.0, 0.0, None, lo_open=True, unit="numeraire per unit")
    sigma: float = num(0.6, 0.0, 10.0, unit="annualised volatility")
    drift: float = num(0.0, -10.0, 10.0, unit="annualised log drift")


@dataclass(frozen=True)
class RollupSpec(_Spec):
    """One rollup: stack label, block time and the gas a swap costs."""
    name: str = text(nonempty=True)
    stack: str = choice("op", ("op", "zk", "arbitrum", "custom"))
    block_time: float = num(2.0, 0.01, 86400.0, unit="s")
    gas_cost: float = num(0.02, 0.0, 1e6, unit="numeraire per swap")
    activity: float = num(1.0, 0.0, 1e6, unit="multiplier on users.rate for this rollup")


@dataclass(frozen=True)
class PoolSpec(_Spec):
    """A constant-product pool of ``asset`` (x) against ``quote`` (y; the numeraire by default)."""
    rollup: str = text(nonempty=True)
    reserve_x: float = num(1000.0, 0.0, 1e30, lo_open=True, unit="units of the risky asset")
    reserve_y: float = num(3e6, 0.0, 1e30, lo_open=True, unit="numeraire")
    fee: float = num(0.003, 0.0, 1.0, hi_open=True, unit="fraction of the input")
    asset: str = text("ETH", nonempty=True)
    quote: str = text("")
    weight: float = num(1.0, 0.0, 1e9, lo_open=True,
                        unit="relative share of its rollup's user flow")


@dataclass(frozen=True)
class UserFlowSpec(_Spec):
    """Poisson user flow per rollup (model.md §2)."""
    rate: float = num(1.0, 0.0, 1e5, unit="transactions per second per rollup")
    size_median: float = num(1500.0, 0.0, 1e12, lo_open=True, unit="numeraire")
    size_sigma: float = num(1.3, 0.0, 5.0, unit="lognormal shape")
    tolerances: tuple = field(default=(0.001, 0.005, 0.01, 0.03))
    tolerance_weights: tuple = field(default=(0.2, 0.4, 0.3, 0.1))
    informed_share: float = num(0.2, 0.0, 1.0, unit="fraction")
    priority_fee: float = num(0.01, 0.0, 1e6, unit="numeraire, mean of an exponential")
    cross_share: float = num(0.0, 0.0, 1.0, unit="fraction of user actions that are cross-rollup "
                             "intents (sell on one rollup, buy on another)")

    def _check(self):
        p = []
        tol, w = tuple(self.tolerances), tuple(self.tolerance_weights)
        object.__setattr__(self, "tolerances", tol)
        object.__setattr__(self, "tolerance_weights", w)
        if not tol or not all(isinstance(t, (int, float)) and 0 < t < 1 for t in tol):
            p.append(("tolerances", f"got {list(tol)}; expected a non-empty list of numbers in (0, 1)"))
        if len(w) != len(tol) or not all(isinstance(x, (int, float)) and math.isfinite(x)
                                         and x >= 0 for x in w) \
                or not 0 < sum(w) < math.inf:
            p.append(("tolerance_weights",
                      f"got {list(w)}; expected {len(tol)} finite non-negative numbers with a "
                      "positive sum"))
        return p


@dataclass(frozen=True)
class LatencySpec(_Spec):
    """Lognormal path latencies of user transactions."""
    user_to_sequencer: float = num(0.15, 0.0, 60.0, unit="s, median")
    user_to_mempool: float = num(0.10, 0.0, 60.0, unit="s, median (searchers see the tx then)")
    sigma: float = num(0.5, 0.0, 3.0, unit="lognormal shape")


@dataclass(frozen=True)
class SearcherSpec(_Spec):
    """A searcher: latency, enabled strategies and a private cost per trade."""
    name: str = text(nonempty=True)
    latency: float = num(0.05, 0.0, 60.0, unit="s, reaction plus path to the sequencer")
    jitter: float = num(0.01, 0.0, 60.0, unit="s, exponential scale per opportunity")
    strategies: tuple = text(("arbitrage", "backrun", "sandwich"), many=True)
    cost: float = num(0.0, 0.0, 1e9, unit="numeraire per opportunity")

    def _check(self):
        ok = {"arbitrage", "backrun", "sandwich"}
        bad = [s for s in self.strategies if s not in ok]
        return [("strategies", f"unknown {bad}; expected a subset of {sorted(ok)}")] if bad else []


@dataclass(frozen=True)
class CommitRevealSpec(_Spec):
    """Commit-reveal ordering (model.md §4): bonds and speculative commitments."""
    bond: float = num(0.0, 0.0, 1e9, unit="numeraire per commitment, forfeited to the "
                      "sequencer if not revealed")
    speculative: bool = choice(True, (True, False))


@dataclass(frozen=True)
class ThresholdSpec(_Spec):
    """Threshold-encrypted mempool (model.md §4): the keyper committee and what leaks."""
    keypers: int = num(5, 1, 64, integer=True, unit="committee members (n)")
    threshold: int = num(3, 1, 64, integer=True, unit="shares needed to decrypt (t)")
    uptime: float = num(1.0, 0.0, 1.0, unit="probability a keyper is online in a slot")
    colluding: int = num(0, 0, 64, integer=True,
                         unit="keypers that leak their shares to one searcher")
    metadata: str = choice("hidden", ("hidden", "pool_direction"))
    order_by: str = choice("arrival", ("arrival", "fee"))

    def _check(self):
        p = []
        if self.threshold > self.keypers:
            p.append(("threshold", f"got {self.threshold}; expected an integer in "
                                   f"[1, keypers={self.keypers}]"))
        if self.colluding > self.keypers:
            p.append(("colluding", f"got {self.colluding}; expected an integer in "
                                   f"[0, keypers={self.keypers}]"))
        return p


@dataclass(frozen=True)
class SequencerSpec(_Spec):
    """A member of the sequencer set: its stake, how often it misses its slot, and whether it
    colludes with a searcher (leaks what it sees to it and orders for it)."""
    name: str = text(nonempty=True)
    stake: float = num(1.0, 0.0, 1e15, lo_open=True, unit="relative weight in stake-weighted "
                       "leader selection")
    offline_prob: float = num(0.0, 0.0, 1.0, unit="probability it misses a slot it leads")
    behaviour: str = choice("honest", ("honest", "colluding"))
    searcher: str = text("")   # the searcher a colluding member works for ("": first sandwicher)


@dataclass(frozen=True)
class BatchSpec(_Spec):
    """Batch auctions (model.md §4): what the batch clears against."""
    amm: str = choice("cpmm", ("cpmm", "fm"))


@dataclass(frozen=True)
class Scenario(_Spec):
    """A multi-rollup world: assets, rollups, pools, user flow, searchers, latencies, topology.

    Examples
    --------
    >>> import mevlab as ml, dataclasses
    >>> scn = ml.Scenario.preset("superchain")
    >>> short = dataclasses.replace(scn, duration=60.0)
    """
    name: str = text(nonempty=True)
    rollups: tuple = nested(RollupSpec, many=True)
    pools: tuple = nested(PoolSpec, many=True)
    assets: tuple = nested(AssetSpec, lambda: (AssetSpec(),), many=True)
    users: UserFlowSpec = nested(UserFlowSpec, UserFlowSpec)
    latency: LatencySpec = nested(LatencySpec, LatencySpec)
    searchers: tuple = nested(SearcherSpec, lambda: (), many=True)
    duration: float = num(600.0, 1.0, 1e8, unit="s of simulated time")
    topology: str = choice("shared", ("shared", "isolated"))
    mempool: str = choice("public", ("public", "private"))
    description: str = text("")
    sources: tuple = text((), many=True)
    numeraire: str = text("USDC", nonempty=True)
    searcher: str = choice("closed_form", ("closed_form", "convex", "dual"))
    router_inventory: float = num(math.inf, 0.0, None, unit="numeraire per token the router's "
                                  "arbitrage may go short (inf: CEX-DEX arbitrage)", allow_inf=True)
    commit_reveal: CommitRevealSpec = nested(CommitRevealSpec, CommitRevealSpec)
    threshold: ThresholdSpec = nested(ThresholdSpec, ThresholdSpec)
    crypto: str = choice("fast", ("fast", "full"))
    batch: BatchSpec = nested(BatchSpec, BatchSpec)
    sequencers: tuple = nested(SequencerSpec, lambda: (), many=True)
    leader_selection: str = choice("round_robin", ("round_robin", "stake_weighted"))
    censorship_bound: float = num(10.0, 0.0, 1e6, unit="s of inclusion delay beyond which a "
                                  "transaction counts as censored")
    forced_inclusion_delay: float = num(math.inf, 0.0, None, unit="s a transaction waits through "
                                        "missed slots before it is included regardless "
                                        "(inf: never)", allow_inf=True)
    leg_failure: float = num(0.0, 0.0, 1.0, unit="probability that a searcher's leg sent to "
                             "another rollup (isolated, non-atomic) fails to land")

    def _check(self):
        p = []
        for what, items in (("rollups", self.rollups), ("assets", self.assets),
                            ("searchers", self.searchers), ("sequencers", self.sequencers)):
            names = [x.name for x in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                p.append((what, f"duplicate names {dup}"))
        if not self.rollups:
            p.append(("rollups", "expected at least one rollup"))
        if not self.pools:
            p.append(("pools", "expected at least one pool"))
        rnames = {r.name for r in self.rollups}
        anames = {a.name for a in self.assets}
        if self.numeraire in anames:
            p.append(("numeraire", f"{self.numeraire!r} is also the name of an asset"))
        for i, pl in enumerate(self.pools):
            if pl.rollup not in rnames:
                p.append((f"pools[{i}].rollup", f"got {pl.rollup!r}; expected one of {sorted(rnames)}"))
            if pl.asset not in anames:
                p.append((f"pools[{i}].asset", f"got {pl.asset!r}; expected one of {sorted(anames)}"))
            quotes = sorted(anames - {pl.asset}) + [self.numeraire]
            if pl.quote not in ("", *quotes):
                p.append((f"pools[{i}].quote", f"got {pl.quote!r}; expected one of {quotes} "
                                               "(empty: the numeraire)"))
        snames = [x.name for x in self.searchers]
        for i, q in enumerate(self.sequencers):
            if q.searcher and q.searcher not in snames:
                p.append((f"sequencers[{i}].searcher", f"got {q.searcher!r}; expected one of "
                                                       f"{snames} (or empty)"))
        if self.users.cross_share > 0 and not p and not self.cross_routes():
            p.append(("users.cross_share", f"got {self.users.cross_share}; cross-rollup intents "
                      "need one pair with pools on two rollups (expected 0 here)"))
        pooled = {pl.rollup for pl in self.pools}
        for i, r in enumerate(self.rollups):
            if r.name not in pooled and self.users.rate > 0:
                p.append((f"rollups[{i}]", f"rollup {r.name!r} has user flow but no pool"))
        return p

    # ---------------------------------------------------------------- derived
    @property
    def tokens(self) -> list[str]:
        """Token names; index 0 is the numeraire, then the assets in order."""
        return [self.numeraire] + [a.name for a in self.assets]

    def initial_prices(self):
        """External price of every token at ``t = 0``, numeraire per unit (index as :attr:`tokens`)."""
        import numpy as np
        return np.array([1.0] + [a.price for a in self.assets])

    def first_sandwicher(self) -> int:
        """Index of the first searcher that sandwiches (0 if none): whom a colluding
        sequencer or keyper committee works for unless told otherwise."""
        return next((i for i, s in enumerate(self.searchers) if "sandwich" in s.strategies), 0)

    def cross_routes(self) -> list[tuple[int, int]]:
        """``(pool on one rollup, pool of the same pair on another)`` index pairs, both ways:
        where a cross-rollup intent can sell on the first and buy on the second."""
        pairs = self.pool_tokens()
        return [(a, b) for a in range(len(self.pools)) for b in range(len(self.pools))
                if pairs[a] == pairs[b] and self.pools[a].rollup != self.pools[b].rollup]

    def pool_tokens(self) -> list[tuple[int, int]]:
        """``(x, y)`` token indices of every pool (see :attr:`tokens`)."""
        t = self.tokens
        return [(t.index(p.asset), t.index(p.quote or self.numeraire)) for p in self.pools]

    @property
    def slot_time(self) -> float:
        """Shared-sequencer slot length (s): the fastest rollup's block time."""
        return min(r.block_time for r in self.rollups)

    def hash(self) -> str:
        """SHA-256 of the canonical JSON of the scenario (identifies cached results)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    # ---------------------------------------------------------------- I/O
    @classmethod
    def from_dict(cls, d) -> "Scenario":
        obj, problems = _build(cls, d, "scenario")
        if problems:
            raise ConfigError([(f.removeprefix("scenario."), m) for f, m in problems])
        return obj

    @classmethod
    def from_toml(cls, source) -> "Scenario":
        """Load from a TOML file path or a TOML string."""
        if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source
                                        and source.endswith(".toml")):
            path = Path(source)
            if not path.is_file():
                raise ConfigError([("path", f"no scenario file at {str(path)!r}")])
            source = path.read_text()
        try:
            d = tomllib.loads(source)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError([("toml", f"not valid TOML: {e}")]) from None
        return cls.from_dict(d)

    def to_toml(self, path=None) -> str:
        """TOML text of the scenario; written atomically to ``path`` if given."""
        s = tomli_w.dumps(self.to_dict())
        if path is not None:
            path = Path(path)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(s)
            tmp.replace(path)
        return s

    @classmethod
    def preset(cls, name: str) -> "Scenario":
        """Load a calibrated preset from ``data/presets/NAME.toml``."""
        path = PRESET_DIR / f"{name}.toml"
        if not path.is_file():
            raise ConfigError([("preset", f"got {name!r}; expected one of {list_presets()}")])
        return cls.from_toml(path)


def list_presets() -> list[str]:
    """Names of the bundled presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))
