"""pocketsr: efficient x4 super-resolution models, reparameterized and converted for phones.

One import package; its rooms are the repository's top-level folders, and imports point only
downward (models -> runtime -> datasets -> convert -> validate -> CLI/API):

* ``pocketsr.mobile_models`` (``mobile_models/``): the model zoo, official weights,
  reparameterization from training to deploy form.
* ``pocketsr.runtime`` (``runtime/``): running models and artifacts (PyTorch, LiteRT, the Core ML
  program executor), exact tiling, pixels and images, metrics, video.
* ``pocketsr.datasets`` (``datasets/``): benchmark sets, the built-in CC0 photographs and their roles.
* ``pocketsr.convert`` (``convert/``): targets, quantization, manifests, the main-job pipeline.
* ``pocketsr.validate`` (``validate/``): the validator, per-layer divergence, the report, bench.
* ``pocketsr.cli``: the ``pocketsr`` command; the functions below are its Python API
  (:mod:`pocketsr.api`), imported on first use so ``import pocketsr`` stays light.
"""

from .version import __version__

_API = ("list_models", "create_model", "define_model", "convert_models", "validate_artifact", "validate_artifacts", "upscale",
        "upscale_array", "write_report", "write_bundle", "ingest_device_reports", "default_datasets")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'pocketsr' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
