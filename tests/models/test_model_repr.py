"""A model prints as one short line: the fields that differ from their defaults, large arrays as size and range."""

from __future__ import annotations

import numpy as np

import skillode as sk


def test_a_thousand_skill_model_prints_one_line_with_its_frequency_range():
    p = sk.zipf_frequencies(1000, 1.5)
    model = sk.GeometryModel(p, 100, tasks="gaussian", loss="ce", optimizer="adam", lr=0.01, batch=1024)
    text = repr(model)
    assert "\n" not in text and len(text) < 300, text
    assert f"p=<1000 values in [{p.min():.4g}, {p.max():.4g}]>" in text
    assert "names=<1000 names: 'skill1' .. 'skill1000'>" in text and "N=100" in text and "lr=0.01" in text
    assert "noise=" not in text  # at its default


def test_small_models_show_their_values():
    assert repr(sk.DominoModel([0.6, 0.4], 0.1)).startswith("DominoModel(p=[0.6, 0.4], eta=0.1,")
    gated = sk.ResourceModel([0.6, 0.4], 0.1, 0.1, gates=[sk.Gate(1, (0,))])
    assert "gates=[Gate(skill=1, parents=(0,), mode='and', exponent=1.0)]" in repr(gated)
    assert "clip" not in repr(gated)  # default
    unclipped = sk.ResourceModel(np.array([0.6, 0.4]), 0.1, 0.1, clip=False)
    assert "clip=False" in repr(unclipped)
