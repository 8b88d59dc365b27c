"""Optional integrations of the per-skill recorder (skillode.torch.SkillRecorder) with training frameworks.

Each submodule imports its framework when it is imported, and says which extra to install when
the framework is missing; this package itself imports nothing heavy:

* `skillode.integrations.lightning` (pip install 'skillode[lightning]'): `SkillCurvesCallback`,
  a lightning.pytorch Callback fed by what training_step / validation_step return.
* `skillode.integrations.huggingface` (pip install 'skillode[huggingface]'): `SkillCurvesCallback`
  (a transformers TrainerCallback holding the recorders) and `SkillTrainerMixin` / `SkillTrainer`,
  whose compute_loss hands it the per-example losses and skill ids.
"""

__all__: list[str] = []
