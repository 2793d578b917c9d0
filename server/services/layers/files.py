"""Reading uploaded layer files: GeoJSON, and shapefiles inside a zip.

Uploads are untrusted. Zips are opened with caps on the number of entries and on the
bytes actually inflated (not the sizes the archive claims), and nothing is written
outside a private temporary folder.
"""

from __future__ import annotations

import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import shapefile

from planfuse.errors import InvalidInput, TooLarge

SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg"}
GEOJSON_SUFFIXES = {".geojson", ".json"}
_CHUNK = 1 << 20
IMPORT_TITLE = "The layer file cannot be imported"

# Encodings Chinese shapefiles come in, by what a .cpg file may say.
CPG_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "65001": "utf-8",
    "gbk": "gbk",
    "936": "gbk",
    "cp936": "gbk",
    "gb2312": "gbk",
    "gb18030": "gb18030",
    "54936": "gb18030",
}


@dataclass
class SourceFile:
    """A layer file ready to parse: GeoJSON text, or a shapefile's records."""

    name: str
    format: str  # "geojson" or "shapefile"
    geojson: bytes | None = None
    prj_wkt: str | None = None
    features: list[dict[str, Any]] = field(default_factory=list)
    # Problems found while reading records, by feature index (shapefiles).
    problems: list[dict[str, Any]] = field(default_factory=list)


def import_problem(detail: str, code: str = "invalid_layer_file") -> InvalidInput:
    """A layer file that cannot be imported as it is (the message says what to change)."""
    return InvalidInput(detail, code=code, title=IMPORT_TITLE)


def import_too_large(detail: str) -> TooLarge:
    """A layer file (or what its zip inflates to) over `import_max_bytes`."""
    return TooLarge(detail, title=IMPORT_TITLE)


@contextmanager
def open_layer_file(
    path: Path, *, max_bytes: int, max_entries: int, display_name: str | None = None
) -> Iterator[SourceFile]:
    """Open a GeoJSON file or a zipped shapefile (or zipped GeoJSON) for import."""
    name = display_name or path.name
    size = path.stat().st_size
    if size > max_bytes:
        raise import_too_large(
            f"{name} is {size:,} bytes; the import limit is {max_bytes:,} (import_max_bytes)",
        )
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic.startswith(b"PK"):
        with tempfile.TemporaryDirectory(prefix="planfuse-import-") as tmp:
            members = safe_extract(path, Path(tmp), max_bytes=max_bytes, max_entries=max_entries)
            yield _read_extracted(members, name)
        return
    suffix = Path(name).suffix.lower()
    if suffix in {".shp", ".dbf", ".shx"}:
        raise import_problem(
            f"{name}: a shapefile is several files; upload them together as one .zip "
            "(.shp, .shx, .dbf and .prj)"
        )
    yield SourceFile(name=name, format="geojson", geojson=path.read_bytes())


def safe_extract(archive: Path, dest: Path, *, max_bytes: int, max_entries: int) -> list[Path]:
    """Extract the layer files of `archive` into `dest`, refusing anything unsafe.

    Caps the number of entries and the bytes actually inflated; refuses absolute paths,
    `..`, and symbolic links. Files that are not part of a layer are skipped.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise import_problem(f"{archive.name} is not a readable zip archive") from None
    extracted: list[Path] = []
    with zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise import_problem(
                f"the zip holds {len(infos)} entries; at most {max_entries} are accepted "
                "(zip_max_entries)"
            )
        inflated = 0
        for info in infos:
            member = PurePosixPath(info.filename.replace("\\", "/"))
            if info.is_dir() or member.name.startswith(".") or "__MACOSX" in member.parts:
                continue
            if member.is_absolute() or ".." in member.parts or ":" in info.filename:
                raise import_problem(
                    f"zip entry {info.filename!r} points outside the archive; refusing it"
                )
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise import_problem(f"zip entry {info.filename!r} is a symbolic link")
            suffix = member.suffix.lower()
            if suffix not in SHAPEFILE_PARTS | GEOJSON_SUFFIXES:
                continue
            target = dest / f"{len(extracted):04d}_{_safe_name(member.name)}"
            with zf.open(info) as src, target.open("wb") as out:
                while chunk := src.read(_CHUNK):
                    inflated += len(chunk)
                    if inflated > max_bytes:
                        raise import_too_large(
                            f"the zip inflates to more than {max_bytes:,} bytes "
                            "(import_max_bytes); refusing it"
                        )
                    out.write(chunk)
            extracted.append(target)
    return extracted


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[-120:]


def _original(path: Path) -> str:
    return path.name.split("_", 1)[1]


def _read_extracted(members: list[Path], archive_name: str) -> SourceFile:
    by_suffix: dict[str, list[Path]] = {}
    for member in members:
        by_suffix.setdefault(member.suffix.lower(), []).append(member)
    shps = by_suffix.get(".shp", [])
    if len(shps) > 1:
        names = ", ".join(_original(p) for p in shps)
        raise import_problem(
            f"{archive_name} holds several shapefiles ({names}); zip one layer per file"
        )
    if not shps:
        geojsons = [p for s in GEOJSON_SUFFIXES for p in by_suffix.get(s, [])]
        if len(geojsons) == 1:
            return SourceFile(
                name=_original(geojsons[0]), format="geojson", geojson=geojsons[0].read_bytes()
            )
        raise import_problem(
            f"{archive_name} holds no .shp file (and not exactly one GeoJSON file)"
        )
    shp = shps[0]
    stem = Path(_original(shp)).stem.lower()

    def sibling(suffix: str) -> Path | None:
        for p in by_suffix.get(suffix, []):
            if Path(_original(p)).stem.lower() == stem:
                return p
        return None

    dbf, shx = sibling(".dbf"), sibling(".shx")
    if dbf is None:
        raise import_problem(f"{_original(shp)} has no .dbf beside it in the zip")
    prj, cpg = sibling(".prj"), sibling(".cpg")
    encoding = _encoding(cpg)
    source = SourceFile(
        name=_original(shp),
        format="shapefile",
        prj_wkt=prj.read_text(errors="replace") if prj else None,
    )
    try:
        _read_shapefile(source, shp, dbf, shx, encoding)
    except (UnicodeDecodeError, shapefile.ShapefileException) as exc:
        if not _is_decode_error(exc):
            raise import_problem(f"{source.name} cannot be read as a shapefile: {exc}") from None
        if cpg is not None:
            raise import_problem(
                f"{source.name}: attributes are not valid {encoding} as its .cpg says"
            ) from None
        # No .cpg: Chinese GIS software usually writes GBK (GB 18030 is its superset).
        source.features.clear()
        source.problems.clear()
        try:
            _read_shapefile(source, shp, dbf, shx, "gb18030")
        except (UnicodeDecodeError, shapefile.ShapefileException):
            raise import_problem(
                f"{source.name}: attributes are neither UTF-8 nor GBK; add a .cpg file "
                "naming their encoding"
            ) from None
    return source


def _is_decode_error(exc: Exception) -> bool:
    # pyshp 3 wraps decoding failures in ShapefileException.
    return isinstance(exc, UnicodeDecodeError) or "decode" in str(exc).lower()


def _encoding(cpg: Path | None) -> str:
    if cpg is None:
        return "utf-8"
    declared = cpg.read_text(errors="replace").strip().lower()
    try:
        return CPG_ENCODINGS[declared]
    except KeyError:
        raise import_problem(
            f"the .cpg file names encoding {declared!r}; supported: "
            f"{', '.join(sorted(set(CPG_ENCODINGS.values())))}"
        ) from None


def _read_shapefile(
    source: SourceFile, shp: Path, dbf: Path, shx: Path | None, encoding: str
) -> None:
    with (
        shp.open("rb") as shp_fh,
        dbf.open("rb") as dbf_fh,
        shx.open("rb") if shx else _null() as shx_fh,
    ):
        reader = shapefile.Reader(
            shp=shp_fh, dbf=dbf_fh, shx=shx_fh, encoding=encoding, encodingErrors="strict"
        )
        fields = [f[0] for f in reader.fields[1:]]
        for index, record in enumerate(reader.iterShapeRecords()):
            shape = record.shape
            if shape.shapeType == shapefile.NULL:
                source.problems.append({"feature": index, "message": "the shape is empty"})
                source.features.append({"type": "Feature", "geometry": None, "properties": {}})
                continue
            properties = {
                name: _plain(value) for name, value in zip(fields, record.record, strict=True)
            }
            geometry = shape.__geo_interface__
            geometry = {"type": geometry["type"], "coordinates": _lists(geometry["coordinates"])}
            source.features.append(
                {"type": "Feature", "geometry": geometry, "properties": properties}
            )


def _lists(coords: Any) -> Any:
    """pyshp gives tuples; GeoJSON coordinates are arrays (lists)."""
    if isinstance(coords, tuple | list):
        if coords and isinstance(coords[0], int | float):
            return list(coords)
        return [_lists(c) for c in coords]
    return coords


@contextmanager
def _null():
    yield None


def _plain(value: Any) -> Any:
    """DBF values as JSON-friendly values (dates as ISO text, bytes as text)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value.strip()
    return value
