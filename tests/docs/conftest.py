"""A running PlanFuse with the compliance world for the documentation's code, and signed
results to verify."""

from __future__ import annotations

import pytest
from compliance_world import project
from doc_snippets import signed_results
from host_server import running_planfuse

#: A red line half on basic farmland (10,000 m²): the verdict is fail.
ON_FARMLAND = project(-100, 50, 100, 150)
CHECK = {"land_use": "0701", "project_type": "urban", "crs": "EPSG:4490", "geometry": ON_FARMLAND}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_planfuse(tmp_path_factory.mktemp("planfuse")) as running:
        yield running


@pytest.fixture(scope="module")
def results(server):
    return signed_results(server, CHECK)
