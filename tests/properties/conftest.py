"""Hypothesis profiles of the property suite.

"ci" (the default): reproducible (derandomize=True: the same examples on every run and machine),
sized so that the whole folder runs in well under a minute. "thorough": ten times the examples,
random seeds and a local example database; select it with HYPOTHESIS_PROFILE=thorough.
Each test asks for a share of the profile's max_examples (tests.properties.budget), so the
expensive ODE properties stay proportionate in either profile.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=5000,  # ms per example: an ODE solve takes ~0.1 s; a hang fails instead of stalling
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "thorough",
    max_examples=400,
    derandomize=False,
    deadline=20000,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
