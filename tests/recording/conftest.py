"""One torch thread for the recording tests: their models are tiny, and on a busy 2-core machine
two threads wait for each other (validation/_train.py measured 2-4x slower)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread():
    torch = pytest.importorskip("torch")
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
