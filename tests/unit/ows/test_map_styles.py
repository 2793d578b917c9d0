"""The WMS draws with the map widget's styles: server/services/maps/map_styles.json is what
scripts/export_map_styles.mjs exports from widgets/common/map-model.js today, and
`style_for` picks the class the widget's `styleSpec` picks for the same attributes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from planfuse.services.maps.styles import STYLES_FILE, colour, legend, style_for

ROOT = Path(__file__).resolve().parents[3]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not ESBUILD.exists(),
    reason="Node.js and the npm packages (./bootstrap installs both)",
)


def _run_module(path: Path) -> str:
    """Bundle an ES module (its imports resolved from its folder) and run it in Node."""
    bundled = subprocess.run(
        [str(ESBUILD), str(path), "--bundle", "--platform=node", "--format=esm",
         "--log-level=error"],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    done = subprocess.run(
        ["node", "--input-type=module"],
        input=bundled.stdout, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout


def test_committed_styles_are_the_widgets():
    exported = _run_module(ROOT / "scripts" / "export_map_styles.mjs")
    assert json.loads(exported) == json.loads(STYLES_FILE.read_text("utf-8")), (
        "regenerate server/services/maps/map_styles.json (see scripts/export_map_styles.mjs)"
    )


SAMPLES = [
    ("land_use_plan", {"code": "0701"}),
    ("land_use_plan", {"code": "1401"}),
    ("land_use_plan", {"code": "9999"}),
    ("land_use_plan", {}),
    ("land_use_status", {"code": "0103"}),
    ("land_use_status", {}),
    ("urban_plan", {"code": "R2"}),
    ("land_plan", {"code": "2101"}),
    ("urban_boundary", {"zone": 1}),
    ("urban_boundary", {"zone": "03"}),
    ("control_line", {"type": "green"}),
    ("control_line", {"type": "pink"}),
    ("sensitive_zone", {"type": "heritage", "level": "protection"}),
    ("sensitive_zone", {"type": "geohazard", "level": "low"}),
    ("sensitive_zone", {"level": "高"}),
    ("road", {"class": "expressway"}),
    ("road", {"class": "footpath"}),
    ("facility", {"type": "hospital"}),
    ("facility", {"type": "library"}),
    ("district", {"name": "渝中区"}),
    ("basic_farmland", {}),
    ("ecological_redline", {}),
    ("no_such_kind", {}),
]


def test_style_for_matches_the_widgets_style_spec(tmp_path):
    model = ROOT / "widgets" / "common" / "map-model.js"
    script = (
        f"import {{ styleSpec }} from {json.dumps(str(model))};\n"
        f"const samples = {json.dumps(SAMPLES)};\n"
        "process.stdout.write(JSON.stringify(samples.map(([k, p]) => "
        "{ const { key, strong, ...s } = styleSpec(k, p); return s; })));\n"
    )
    (tmp_path / "samples.mjs").write_text(script, "utf-8")
    expected = json.loads(_run_module(tmp_path / "samples.mjs"))
    for (kind, props), want in zip(SAMPLES, expected, strict=True):
        got = {k: v for k, v in style_for(kind, props).items() if k != "strong"}
        assert got == want, (kind, props)


def test_legend_and_colours():
    labels = [label for label, _ in legend("land_use_plan")]
    assert labels[6] == "07 居住用地"
    assert legend("road", "en")[0][0] == "Expressway"
    assert colour("#FFFF2D") == (255, 255, 45, 255)
    assert colour("rgba(255,255,45,0.72)") == (255, 255, 45, 184)
    assert colour("#abc") == (170, 187, 204, 255)
