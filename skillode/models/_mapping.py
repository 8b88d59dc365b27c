"""Geometry -> Resource and Geometry -> mean-field mappings: model to model, nothing solved."""

from __future__ import annotations

import math

import numpy as np

from .._checks import as_scalar
from ._geometry import GeometryModel
from ._mean_field import SignGDMeanField
from ._resource import ResourceModel

PAPER_ETA_CONSTANT = 2.0


def overlap_matrix(model: GeometryModel, seed: int | None = None) -> np.ndarray | None:
    """C = T T^T, shape (n, n), symmetrised; None when it is the identity to 1e-12 (orthogonal tasks)."""
    C = model.overlap(seed)
    C = 0.5 * (C + C.T)
    if np.allclose(C, np.eye(C.shape[0]), rtol=0.0, atol=1e-12):
        return None
    return C


def resource_model_for(
    model: GeometryModel, *, eta_constant: float = PAPER_ETA_CONSTANT, N0: float = 0.0, seed: int | None = None
) -> ResourceModel:
    """The Resource model of a Geometry model: C = T T^T, eta = eta_constant * lr * sqrt(N), N0.

    The Resource model gets the normalised frequencies p / sum(p) (the Geometry model's weights),
    so N0 is measured in units of the total frequency.
    """
    c = as_scalar(eta_constant, "eta_constant", positive=True)
    return ResourceModel(
        model.weights,
        eta=c * model.lr * math.sqrt(model.N),
        N0=as_scalar(N0, "N0", nonnegative=True),
        C=overlap_matrix(model, seed),
        loss=model.loss,
        names=model.names,
    )


def mean_field_for(
    geometry: GeometryModel, seed: int | None = None, *, batch_noise: str = "variance"
) -> SignGDMeanField:
    """The mean-field map of a SignGD GeometryModel: its p, lr, N, C = T T^T, loss, batch, noise.

    seed selects the random task vectors when the model has no task_seed (as in simulate) and
    seeds the sampled batches of batch_noise="sampled" (their stream is not the simulation's).
    """
    if not isinstance(geometry, GeometryModel):
        raise ValueError(f"geometry must be a GeometryModel, got {type(geometry).__name__}")
    if geometry.optimizer != "signgd":
        raise ValueError(f"the mean field is derived for SignGD; geometry.optimizer is {geometry.optimizer!r}")
    if geometry.tasks == "basis":
        raise ValueError(
            "the mean field needs task vectors spread over many coordinates; "
            "tasks='basis' moves each skill by exactly lr per step (use 'orthogonal' or 'gaussian')"
        )
    return SignGDMeanField(
        geometry.weights,
        geometry.lr,
        geometry.N,
        overlap_matrix(geometry, seed),
        loss=geometry.loss,
        batch=geometry.batch,
        noise=geometry.noise,
        batch_noise=batch_noise,
        seed=0 if seed is None else seed,
        names=geometry.names,
    )
