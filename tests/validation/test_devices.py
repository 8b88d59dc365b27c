"""--device for the validation experiments: checked up front, and a run on another device agrees with the CPU's.

Without CUDA, "auto" is the CPU and must give the CPU's numbers bit for bit; the CUDA comparisons are
marked gpu and skipped here (no CUDA device: the GPU path is not checked on this machine).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skillode.cli import main  # noqa: E402
from skillode.validation import _train, compositional, domino, grokking, modularity, scaling_laws, write_report  # noqa: E402
from skillode.validation import geometry as geo  # noqa: E402

CUDA = torch.cuda.is_available()
TINY_GROK = replace(grokking.QUICK, steps=20, hidden=(16,), embedding_dim=8, modulus=11)
TINY_COMP = replace(compositional.QUICK, seeds=(1, 2), n_samples=400, steps=30)
TINY_MOD = replace(modularity.QUICK, seeds=(0, 3), steps=30)
TINY_DOMINO = replace(domino.QUICK, seeds=(4, 0), n_samples=300, steps=20)
TINY_LAWS = scaling_laws.ScalingLawsConfig(
    panels=("adam",), alphas=(1.5,), Ns=(20, 40), seeds=(0,), steps=210, read_step=210, s_N=20
)


def _grokking(device: str) -> np.ndarray:
    rec, _ = grokking.train_run(replace(TINY_GROK, device=device), "signgd", 0.03)
    return np.concatenate([rec.loss, rec.test_loss], axis=1)


def _compositional(device: str) -> np.ndarray:
    return compositional.train_condition(replace(TINY_COMP, device=device), "compositional").loss


def _modularity(device: str) -> np.ndarray:
    cfg = replace(TINY_MOD, device=device)
    return np.concatenate([modularity.train_condition(cfg, c).loss for c in ("nonmodular", "modular")], axis=1)


def _domino(device: str) -> np.ndarray:
    return domino.train_p2(replace(TINY_DOMINO, device=device), 0.1).loss


def _scaling_laws(device: str) -> np.ndarray:
    return scaling_laws.simulate_panel_grid(replace(TINY_LAWS, device=device))["adam"]["total_loss"]


RUNS = {
    "grokking": _grokking,
    "compositional": _compositional,
    "modularity": _modularity,
    "domino": _domino,
    "scaling_laws": _scaling_laws,
}


def test_devices_are_checked_by_name():
    with pytest.raises(ValueError, match="device must be one of"):
        _train.check_device("gpu")
    with pytest.raises(ValueError, match="device must be one of"):
        grokking.GrokkingConfig(device="tpu")
    with pytest.raises(ValueError, match="weighted_tasks"):
        replace(modularity.WEIGHTED_TASKS, device="auto")
    assert _train.resolve_device("cpu") == torch.device("cpu")
    assert _train.resolve_device("auto").type == ("cuda" if CUDA else "cpu")


@pytest.mark.skipif(CUDA, reason="checks the message where torch has no CUDA")
def test_cuda_without_a_device_fails_before_any_work(tmp_path, capsys):
    with pytest.raises(ValueError, match="no CUDA device"):
        compositional.CompositionalConfig(device="cuda")
    with pytest.raises(ValueError, match="no CUDA device"):
        write_report("geometry", tmp_path / "out", device="cuda")
    assert not (tmp_path / "out").exists()  # refused before the output folder was made
    assert main(["validate", "geometry", "--quick", "--device", "cuda", "--out", str(tmp_path / "cli")]) == 2
    assert "no CUDA device" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(RUNS))
def test_auto_device_is_the_cpu_without_cuda(name):
    if CUDA:
        pytest.skip("auto is CUDA here: see the gpu-marked comparison")
    np.testing.assert_array_equal(RUNS[name]("auto"), RUNS[name]("cpu"))


def test_report_records_where_each_experiment_ran(tmp_path):
    cfg = geo.GeometryConfig(variants=("orig",), n_skills=3, N=50, steps=40, seeds=(0,))
    rep = write_report("geometry", tmp_path, configs={"geometry": cfg}, device="auto")
    import json

    devices = json.loads(rep.metrics.read_text())["_devices"]
    assert devices == {"geometry": "cuda" if CUDA else "cpu"}


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="no CUDA device: the GPU path is not checked here")
@pytest.mark.parametrize("name", sorted(RUNS))
def test_cuda_and_cpu_runs_agree_within_float_tolerance(name):
    # same data and initial weights (drawn on the CPU); the products round differently on the GPU:
    # float64 (grokking, compositional, domino) to ~1e-9 over these few steps, float32 (modularity,
    # the Geometry model's sweep points) to ~1e-4
    cpu, gpu = RUNS[name]("cpu"), RUNS[name]("cuda")
    rtol = 1e-3 if name in ("modularity", "scaling_laws") else 1e-7
    np.testing.assert_allclose(gpu, cpu, rtol=rtol, atol=rtol * float(np.abs(cpu).max()))
