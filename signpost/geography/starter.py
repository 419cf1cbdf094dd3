"""The embedded default: load the Leeds lookups (and any postcode directory) found in the geography data folder."""

from pathlib import Path

from rich.console import Console
from sqlmodel import Session

from signpost.config import Settings
from signpost.geography import importers, packaged

# (kind, file name) in load order: the ward lookup makes the LSOAs that IMD deciles attach to.
LEEDS_FILES: tuple[tuple[str, str], ...] = (
    ("lsoa-ward", "leeds_LSOA11_to_WD18.csv"),
    ("imd", "leeds_LSOA11_WD18_IMD2019_decile.csv"),
    ("ward-population", "leeds_ward_population_mid2020_WD19_nomis.csv"),
    ("ward-crosswalk", "leeds_ward_codes.csv"),
)
# A postcode directory dropped into the same folder is loaded too (the national file takes about a minute).
POSTCODE_DIRECTORY_GLOBS = ("NSPL*.csv", "ONSPD*.csv", "NSPL*.csv.gz", "ONSPD*.csv.gz")


def starter_files(folder: Path) -> list[tuple[str, Path]]:
    """The files the starter loader would load from `folder`, in order (each plain or gzipped)."""
    found = []
    for kind, name in LEEDS_FILES:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                found.append((kind, candidate))
                break
    for pattern in POSTCODE_DIRECTORY_GLOBS:
        found += [("nspl", path) for path in sorted(folder.glob(pattern))]
    return found


def load_starter_geography(session: Session, settings: Settings, console: Console) -> None:
    """Load the lookups at hand in settings.geography_data_dir; files imported before are skipped (quick re-run)."""
    files = starter_files(Path(settings.geography_data_dir))
    if not files:
        files = starter_files(packaged.folder())
        console.print(
            f"geography: no reference files in {settings.geography_data_dir}; loading the Leeds starter geography "
            "shipped with Signpost (ONS, OS and MHCLG data, Open Government Licence v3.0)"
        )
    if not files:
        console.print(f"geography: no reference files in {settings.geography_data_dir}; postcodes resolve as unknown")
        return
    for kind, path in files:
        if importers.already_imported(session, kind, importers.file_digest(path)):
            continue
        try:
            summary = importers.import_file(session, kind, path, local_authorities=settings.local_authorities)
        except importers.GeographyImportError as exc:
            console.print(f"[red]geography: {exc}[/red]")
            continue
        loaded = ", ".join(f"{n:,} {what}" for what, n in summary.loaded.items())
        console.print(f"geography: {path.name} ({kind}): {loaded}")
