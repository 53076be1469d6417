import dataclasses

import pytest

import mevlab as ml
from mevlab import ConfigError


def test_presets_load_and_cite_sources():
    assert {"superchain", "mixed-stack"} <= set(ml.list_presets())
    sc = ml.Scenario.preset("superchain")
    assert len(sc.rollups) >= 3 and all(r.stack == "op" and r.block_time == 2.0
                                        for r in sc.rollups)
    assert {p.asset for p in sc.pools} == {"ETH"} and sc.topology == "shared"
    mixed = ml.Scenario.preset("mixed-stack")
    assert sorted(r.block_time for r in mixed.rollups) == [0.25, 1.0, 2.0]
    assert {r.stack for r in mixed.rollups} == {"op", "zk", "arbitrum"}
    for s in (sc, mixed):
        assert s.sources, "a preset must say where its parameters come from"


@pytest.mark.parametrize("name", ["superchain", "mixed-stack"])
def test_toml_round_trip(name, tmp_path):
    s = ml.Scenario.preset(name)
    assert ml.Scenario.from_toml(s.to_toml()) == s
    s.to_toml(tmp_path / "s.toml")
    assert ml.Scenario.from_toml(tmp_path / "s.toml") == s
    assert ml.Scenario.from_toml(tmp_path / "s.toml").hash() == s.hash()


def test_replace_revalidates(preset):
    assert dataclasses.replace(preset, duration=30.0).duration == 30.0
    with pytest.raises(ConfigError, match="duration"):
        dataclasses.replace(preset, duration=-1.0)
    with pytest.raises(ConfigError, match="mempool"):
        dataclasses.replace(preset, mempool="dark")


def test_config_error_lists_every_invalid_field_with_its_range(preset):
    d = preset.to_dict()
    d["pools"][0]["reserve_x"] = -5.0
    d["pools"][1]["fee"] = 1.0
    d["rollups"][0]["block_time"] = 0.0
    d["users"]["informed_share"] = 2.0
    d["topology"] = "mesh"
    d["colour"] = "blue"
    with pytest.raises(ConfigError) as ei:
        ml.Scenario.from_dict(d)
    fields = [f for f, _ in ei.value.problems]
    assert fields == ["colour", "rollups[0].block_time", "pools[0].reserve_x", "pools[1].fee",
                      "users.informed_share", "topology"]
    msg = str(ei.value)
    assert "(0.0, 1e+30]" in msg and "[0.0, 1.0)" in msg and "one of ['shared', 'isolated']" in msg


def test_cross_field_checks(preset):
    d = preset.to_dict()
    d["pools"][0]["rollup"] = "nowhere"
    d["searchers"].append(dict(d["searchers"][0]))
    with pytest.raises(ConfigError) as ei:
        ml.Scenario.from_dict(d)
    fields = [f for f, _ in ei.value.problems]
    assert "pools[0].rollup" in fields and "searchers" in fields


def test_unknown_preset_names_the_choices():
    with pytest.raises(ConfigError, match="superchain"):
        ml.Scenario.preset("nope")


def test_bad_toml_is_a_config_error(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("name = [unclosed")
    with pytest.raises(ConfigError, match="TOML"):
        ml.Scenario.from_toml(p)


def test_numbers_are_coerced_and_bools_rejected():
    r = ml.RollupSpec(name="a", block_time=2)
    assert isinstance(r.block_time, float)
    with pytest.raises(ConfigError, match="gas_cost"):
        ml.RollupSpec(name="a", gas_cost=True)
