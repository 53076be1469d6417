"""Leader selection and missed slots (issue 6, part 3)."""
import dataclasses

import numpy as np
import pytest
from scipy import stats

import mevlab as ml
from mevlab import engine
from mevlab.sequencing.leaders import draw_leaders


def _with_set(scn, selection="stake_weighted", offline=(0.0, 0.0, 0.0), stakes=(1.0, 2.0, 5.0),
              **kw):
    members = [dict(name=f"seq{i}", stake=s, offline_prob=o)
               for i, (s, o) in enumerate(zip(stakes, offline))]
    return dataclasses.replace(scn, sequencers=members, leader_selection=selection, **kw)


def test_stake_weighted_selection_gives_each_member_its_share(preset):
    scn = _with_set(dataclasses.replace(preset, duration=20_000.0))
    clocks = engine.prepare(dataclasses.replace(scn, users={"rate": 0.0}), 0).clocks
    leader, _ = draw_leaders(scn, clocks, np.random.default_rng(1))
    counts = np.bincount(leader, minlength=3)
    stake = np.array([1.0, 2.0, 5.0])
    expected = stake / stake.sum() * counts.sum()
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    # and the test has power: equal shares are rejected
    assert stats.chisquare(counts, np.full(3, counts.sum() / 3)).pvalue < 1e-6


def test_round_robin_rotates_through_the_set_on_every_clock(preset):
    scn = _with_set(dataclasses.replace(preset, topology="isolated", duration=200.0),
                    selection="round_robin")
    world = engine.prepare(scn, 0)
    for c in np.unique(world.slots.clock):
        seq = world.leader[world.slots.clock == c]
        assert (np.diff(seq) % 3 == 1).all()


def test_offline_leaders_miss_their_slots_and_transactions_wait(preset):
    scn = _with_set(dataclasses.replace(preset, duration=300.0), offline=(0.5, 0.0, 0.0),
                    stakes=(5.0, 2.0, 1.0))
    base = ml.simulate(dataclasses.replace(scn, sequencers=()), "fcfs", 2)
    r = ml.simulate(scn, "fcfs", 2)
    world = engine.prepare(scn, 2)
    missed = np.flatnonzero(~world.slots.live)
    assert len(missed) > 10 and (world.leader[missed] == 0).all()
    assert not r.fills["slot"].isin(missed).any()
    s, b = r.summary().iloc[0], base.summary().iloc[0]
    assert s["missed_slots"] == len(missed)
    assert s["delay_mean"] > b["delay_mean"] and s["delay_p95"] > b["delay_p95"]
    assert s["censored_share"] >= 0 and np.isfinite(s["hhi_sequencers"])
    # same seed, same leaders
    again = engine.prepare(scn, 2)
    assert np.array_equal(again.leader, world.leader)


def test_sequencer_revenue_concentration_follows_stake(preset):
    scn = _with_set(dataclasses.replace(preset, duration=600.0), stakes=(1.0, 1.0, 1.0))
    even = ml.simulate(scn, "priority", 0).summary()["hhi_sequencers"].iloc[0]
    skew = ml.simulate(_with_set(dataclasses.replace(preset, duration=600.0),
                                 stakes=(1.0, 1.0, 20.0)), "priority", 0)
    assert even == pytest.approx(1 / 3, abs=0.05)
    assert skew.summary()["hhi_sequencers"].iloc[0] > 0.6


@pytest.mark.parametrize("policy", ["fcfs", "fcfs-private"])
def test_extracted_mev_rises_with_the_colluding_leader_fraction(preset, policy):
    base = dataclasses.replace(preset, duration=300.0)
    mev = []
    for k in range(5):          # round robin over 4 members: exactly k/4 of slots collude
        members = [dict(name=f"s{i}", behaviour="colluding" if i < k else "honest")
                   for i in range(4)]
        r = ml.simulate(dataclasses.replace(base, sequencers=members), policy, 0)
        mev.append(r.summary()["mev_total"].iloc[0])
    assert all(a < b for a, b in zip(mev, mev[1:])), mev


def test_sealed_policies_give_a_colluding_leader_nothing_to_leak(small):
    # the leader sees commitments or ciphertexts only: the run is the same as with an
    # honest leader, fill for fill
    for policy in ("commit_reveal", "threshold", "batch_auction"):
        runs = [ml.simulate(dataclasses.replace(small, sequencers=[dict(name="a",
                                                                        behaviour=b)]),
                            policy, 0) for b in ("honest", "colluding")]
        assert runs[0].raw_fills.tobytes() == runs[1].raw_fills.tobytes(), policy
    # while under fcfs-private the same leader changes the run
    runs = [ml.simulate(dataclasses.replace(small, sequencers=[dict(name="a", behaviour=b)]),
                        "fcfs-private", 0) for b in ("honest", "colluding")]
    assert runs[0].raw_fills.tobytes() != runs[1].raw_fills.tobytes()


def test_in_an_auction_the_colluder_still_has_to_outbid(preset):
    # the leader works for a costlier searcher: under priority it may not win at a loss
    scn = dataclasses.replace(preset, duration=300.0,
                              sequencers=[dict(name="a", behaviour="colluding", searcher="medium")])
    e = ml.simulate(scn, "priority", 0).extractions
    slow = e[e["searcher"] == "medium"]
    cost = {s.name: s.cost for s in preset.searchers}["medium"]
    assert len(slow) > 0 and (slow["net"] - cost >= -1e-9).all()


def test_missed_slots_censor_and_combine_with_keyper_downtime(preset):
    scn = dataclasses.replace(preset, duration=300.0, censorship_bound=3.0,
                              sequencers=[dict(name="a", offline_prob=0.6)],
                              threshold={"uptime": 0.7})
    r = ml.simulate(scn, "threshold", 1)
    s = r.summary().iloc[0]
    assert s["missed_slots"] > 0 and s["undecryptable_slots"] > 0
    assert 0 < s["censored_share"] < 1
    users = r.fills[r.fills["sender_kind"] == "user"]
    late = (users["inclusion_delay"] > 3.0).sum()
    never = s["never_included_tx"] + s["never_decrypted_tx"]
    assert s["censored_share"] == pytest.approx((late + never) / (len(users) + never))
    # commitments of transactions that waited are made when their slot opens
    full = ml.simulate(dataclasses.replace(scn, crypto="full"), "commit_reveal", 1)
    fast = ml.simulate(scn, "commit_reveal", 1)
    assert full.raw_fills.tobytes() == fast.raw_fills.tobytes()


def test_a_colluding_member_must_name_a_known_searcher(preset):
    with pytest.raises(ml.ConfigError, match=r"sequencers\[0\].searcher"):
        dataclasses.replace(preset, sequencers=[dict(name="a", behaviour="colluding",
                                                     searcher="nobody")])


def test_forced_inclusion_bounds_the_wait_and_forced_slots_have_no_searchers(preset):
    members = [dict(name="a", offline_prob=0.7)]
    base = dataclasses.replace(preset, duration=300.0, sequencers=members)
    waiting = ml.simulate(base, "fcfs", 4)
    forced = ml.simulate(dataclasses.replace(base, forced_inclusion_delay=3.0), "fcfs", 4)
    world = engine.prepare(dataclasses.replace(base, forced_inclusion_delay=3.0), 4)
    f_slots = np.flatnonzero(world.slots.forced)
    assert len(f_slots) > 5
    f = forced.fills
    # nobody but users trades in a slot that no sequencer produced
    assert not ((f["sender_kind"] == "searcher") & f["slot"].isin(f_slots)).any()
    assert (f["slot"].isin(f_slots) & (f["sender_kind"] == "user")).any()
    # a waiting transaction lands in the slot opening at or after submission + delay, and is
    # included when that slot closes: it waits less than the delay plus two slots
    users = f[f["sender_kind"] == "user"]
    wait = users["inclusion_delay"].to_numpy()
    assert wait.max() < 3.0 + 2 * preset.slot_time
    assert waiting.fills.loc[waiting.fills["sender_kind"] == "user", "inclusion_delay"].max() \
        > wait.max()
    # only transactions whose forced slot would open after the run ends stay out: the last
    # few seconds' worth
    never = forced.summary()["never_included_tx"].iloc[0]
    assert never < waiting.summary()["never_included_tx"].iloc[0]
    assert never < 4.0 * 1.5 * sum(r.activity for r in preset.rollups) * 2
