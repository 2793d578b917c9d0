"""The demo dataset: Chongqing's real 38 districts and synthetic planning layers of every
kind generated inside them, with planted scenarios whose answers are known
(`scenarios.json`). `planfuse demo` calls `load_demo`; tests use `planfuse.demo.testing`.
"""

from planfuse.demo.build import (
    DEFAULT_SEED,
    DemoFiles,
    build_demo,
    cache_folder,
    generate_files,
    import_files,
    load_demo,
)
from planfuse.demo.layers import DEMO_LAYERS, LAYERS_BY_ID, DemoLayer

__all__ = [
    "DEFAULT_SEED",
    "DEMO_LAYERS",
    "LAYERS_BY_ID",
    "DemoFiles",
    "DemoLayer",
    "build_demo",
    "cache_folder",
    "generate_files",
    "import_files",
    "load_demo",
]
