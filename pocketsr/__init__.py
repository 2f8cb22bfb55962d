"""pocketsr: efficient x4 super-resolution models, reparameterized and converted for phones.

The distribution ships four import packages: ``mobile_models`` (PyTorch model zoo,
reparameterization, weights), ``convert`` (artifact converters and manifests), ``validate``
(runtimes, parity and benchmark metrics) and this one (CLI and shared errors).
"""

__version__ = "0.1.0"
