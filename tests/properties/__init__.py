"""Property-based tests of the public API and the file loaders (issue #15).

Shared here: the example budget (scaled by the hypothesis profile, see conftest.py), the
strategies of hostile argument values, and the checks that an error names its argument.
"""

from __future__ import annotations

import contextlib
import math
import re
import signal

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def budget(share: float) -> int:
    """`share` of the active profile's max_examples (at least 3): per-test sizes that scale with the profile."""
    return max(3, round(settings().max_examples * share))


def mentions(message: str, word: str) -> bool:
    """True when the message names `word` as a word of its own (p, p[3], "eta must ...", "N0 = ...")."""
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", message) is not None


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise TimeoutError inside the block after `seconds` (SIGALRM; the solvers' loops are Python)."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


SPECIAL = [
    0.0,
    -0.0,
    -1.0,
    -1e-300,
    math.nan,
    math.inf,
    -math.inf,
    1e300,
    1.7976931348623157e308,
    1e-310,  # subnormal
    5e-324,  # the smallest subnormal
    1.0,
    0.5,
]
# any float (NaN, inf, subnormal, huge), the special values above, and small ints
wild_float = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.integers(-3, 3),
)
# numpy arrays of 0 to 2 dimensions (sides 0..4) of several dtypes, with any values
wild_arrays = hnp.arrays(
    st.sampled_from([np.dtype("f8"), np.dtype("f4"), np.dtype("i8"), np.dtype("u1")]),
    hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4),
)
# numbers in any numeric shape: scalars, lists of any length, 2-D lists, arrays, None
numeric_argument = st.one_of(
    wild_float,
    st.lists(wild_float, max_size=6),
    st.lists(st.lists(wild_float, min_size=2, max_size=2), min_size=1, max_size=3),
    wild_arrays,
    st.sampled_from([None, [], [[]], "1.0", [None]]),
)
# things that are not numbers at all: strings, dicts, complex, ragged lists
non_numeric = st.sampled_from(["abc", "", {"a": 1}, [1j], ["x"], [[1.0], [2.0, 3.0]], object()])
array_argument = st.one_of(numeric_argument, non_numeric)
