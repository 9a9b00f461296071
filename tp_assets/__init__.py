"""tp-assets: co-locate and rationalise a place's collective public estate.

Modules are imported on first use, so ``import tp_assets`` is instant and silent::

    import tp_assets as tpa
    estate = tpa.estate.load_place("data/demo")
"""

from __future__ import annotations

import importlib
from types import ModuleType

__version__ = "0.1.0"

_MODULES = ("access", "check", "cli", "estate", "finance", "io", "optimise", "pipeline",
            "savings", "scenario", "settings", "sources")
__all__ = ["__version__", *_MODULES]


def __getattr__(name: str) -> ModuleType:
    if name in _MODULES:
        return importlib.import_module(f"tp_assets.{name}")
    raise AttributeError(f"module 'tp_assets' has no attribute {name!r}")
