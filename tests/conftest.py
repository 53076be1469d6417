import dataclasses
import os

import pytest
from hypothesis import HealthCheck, settings

# The first call of a Numba kernel compiles it, which exceeds any deadline;
# derandomized so that CI runs are repeatable.
settings.register_profile("ci", deadline=None, derandomize=True, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=200,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def preset():
    import mevlab as ml
    return ml.Scenario.preset("superchain")


@pytest.fixture(scope="session")
def small(preset):
    """The default preset cut to one simulated minute."""
    return dataclasses.replace(preset, duration=60.0)
