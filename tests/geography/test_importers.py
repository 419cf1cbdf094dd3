"""Importers: the real Leeds files, a synthetic postcode directory, and bad files that change nothing."""

from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from signpost.geography import importers, models
from signpost.geography import service as geography
from tests.geography.support import GEO_DATA, LEEDS, SYNTHETIC_NSPL, require_geo_data

NSPL_HEADER = (
    "pcd,pcd2,pcds,dointr,doterm,usertype,oseast1m,osnrth1m,osgrdind,oa11,cty,ced,laua,ward,hlthau,nhser,ctry,rgn,"
    "pcon,eer,ttwa,itl,npark,lsoa11,msoa11,wz11,sicbl,bua24,ru11ind,oac11,oa21,lsoa21,msoa21,lat,long,lep1,lep2,"
    "pfa,imd,icb"
)


def load(session: Session, kind: str, path: Path, **options):  # type: ignore[no-untyped-def]
    return importers.import_file(session, kind, path, local_authorities=[LEEDS], **options)


def load_leeds_lookups(session: Session) -> None:
    require_geo_data()
    load(session, "lsoa-ward", GEO_DATA / "leeds_LSOA11_to_WD18.csv")
    load(session, "imd", GEO_DATA / "leeds_LSOA11_WD18_IMD2019_decile.csv")
    load(session, "ward-population", GEO_DATA / "leeds_ward_population_mid2020_WD19_nomis.csv")
    load(session, "ward-crosswalk", GEO_DATA / "leeds_ward_codes.csv")


def count(session: Session, model, *where) -> int:  # type: ignore[no-untyped-def]
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def nspl_line(pcds: str, la: str, lsoa: str, *, doterm: str = "", lat: str = "53.8", lon: str = "-1.5") -> str:
    values = dict.fromkeys(NSPL_HEADER.split(","), "")
    out, inward = pcds.split()
    values.update(pcd=out + inward, pcds=pcds, doterm=doterm, laua=la, lsoa11=lsoa, lsoa21=lsoa, lat=lat, long=lon)
    return ",".join(values.values())


def write_file(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_leeds_lookups_load_482_lsoas_and_33_wards(session: Session) -> None:
    load_leeds_lookups(session)
    assert count(session, models.Lsoa, models.Lsoa.vintage == 2011) == 482
    assert count(session, models.Ward, models.Ward.vintage == 2018) == 33
    assert len(geography.list_wards(session)) == 33


def test_leeds_has_114_lsoas_in_imd_decile_1(session: Session) -> None:
    load_leeds_lookups(session)
    assert count(session, models.Lsoa, models.Lsoa.imd_decile == 1, models.Lsoa.imd_year == 2019) == 114


def test_leeds_ward_populations_total_798786(session: Session) -> None:
    load_leeds_lookups(session)
    assert sum(w.population or 0 for w in geography.list_wards(session)) == 798_786


def test_the_six_changed_ward_codes_resolve_through_the_crosswalk(session: Session) -> None:
    load_leeds_lookups(session)
    changed = session.exec(
        select(models.WardCrosswalk).where(models.WardCrosswalk.from_code != models.WardCrosswalk.to_code)
    ).all()
    assert len(changed) == 6
    current = {w.code for w in geography.list_wards(session)}
    lsoa_wards = session.exec(select(models.Lsoa.ward_code).distinct()).all()
    carried = {geography._carry_forward(code, 2018, 2021, _links(session)) for code in lsoa_wards if code}
    assert {code for code, _ in carried} == current


def _links(session: Session) -> dict[tuple[str, int], list[tuple[str, int]]]:
    links: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for link in session.exec(select(models.WardCrosswalk)).all():
        links.setdefault((link.from_code, link.from_vintage), []).append((link.to_code, link.to_vintage))
    return links


def test_crosswalk_gives_later_codes_the_local_authority(session: Session) -> None:
    load_leeds_lookups(session)
    assert {w.local_authority for w in geography.list_wards(session)} == {LEEDS}


def test_importing_the_same_files_twice_changes_nothing(session: Session) -> None:
    load_leeds_lookups(session)
    load(session, "nspl", SYNTHETIC_NSPL)
    before = [count(session, m) for m in (models.Lsoa, models.Ward, models.WardCrosswalk, models.Postcode)]
    load_leeds_lookups(session)
    load(session, "nspl", SYNTHETIC_NSPL)
    assert [count(session, m) for m in (models.Lsoa, models.Ward, models.WardCrosswalk, models.Postcode)] == before


def test_national_lookup_keeps_only_the_configured_local_authority(session: Session) -> None:
    require_geo_data()
    summary = load(session, "lsoa-ward", GEO_DATA / "LSOA11_to_WD18_EW_v3.csv")
    assert summary.loaded["lsoas"] == 482
    assert summary.skipped["other local authority"] == 34_753 - 482


def test_national_simplified_imd_file_updates_only_loaded_lsoas(session: Session) -> None:
    require_geo_data()
    load(session, "lsoa-ward", GEO_DATA / "leeds_LSOA11_to_WD18.csv")
    summary = load(session, "imd", GEO_DATA / "imd2019_england_lsoa11.csv")
    assert summary.year == 2019
    assert summary.loaded["lsoas"] == 482
    assert count(session, models.Lsoa) == 482
    assert count(session, models.Lsoa, models.Lsoa.imd_decile == 1) == 114


def test_official_imd_file_with_long_column_names_is_read(session: Session, tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        "File_7_IoD2025.csv",
        "LSOA code (2021),LSOA name (2021),Local Authority District code (2024),Local Authority District name (2024),"
        "Index of Multiple Deprivation (IMD) Score,Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived),"
        "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)\n"
        "E01011370,Leeds 082D,E08000035,Leeds,60.1,1500,1\n"
        "E01010667,Bradford 050D,E08000032,Bradford,50.0,2500,1\n",
    )
    summary = load(session, "imd", path)
    assert (summary.year, summary.vintage, summary.loaded["lsoas"]) == (2025, 2021, 1)
    lsoa = session.get(models.Lsoa, ("E01011370", 2021))
    assert lsoa is not None and (lsoa.imd_rank, lsoa.imd_decile, lsoa.imd_year) == (1500, 1, 2025)


def test_synthetic_nspl_drops_terminated_and_other_authorities(session: Session) -> None:
    summary = load(session, "nspl", SYNTHETIC_NSPL)
    assert summary.loaded == {"postcodes": 4}
    assert summary.skipped == {"terminated": 1, "other local authority": 1}
    assert session.get(models.Postcode, "LS11 0ZE") is None
    assert session.get(models.Postcode, "BD7 0ZF") is None


def test_synthetic_nspl_resolves_end_to_end(session: Session) -> None:
    load_leeds_lookups(session)
    load(session, "nspl", SYNTHETIC_NSPL)
    place = geography.resolve(session, "ls16 0zb")
    assert (place.lsoa_code, place.ward_code, place.ward_name, place.imd_decile) == (
        "E01011376",
        "E05012841",
        "Adel & Wharfedale",
        10,
    )


def test_onspd_layout_is_accepted(session: Session, tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        "ONSPD_NOV_2025_UK.csv",
        "pcd,pcd2,pcds,dointr,doterm,oscty,ced,oslaua,osward,lsoa11,lsoa21,lat,long\n"
        "LS7 0ZD,LS7  0ZD,LS7 0ZD,198001,,E11000006,E99999999,E08000035,E05011390,E01011352,E01011352,53.83,-1.54\n",
    )
    summary = load(session, "nspl", path)
    assert summary.loaded == {"postcodes": 1}


def test_nspl_takes_the_lsoa_vintage_asked_for(session: Session, tmp_path: Path) -> None:
    path = write_file(tmp_path, "nspl.csv", NSPL_HEADER + "\n" + nspl_line("LS7 0ZD", LEEDS, "E01011352") + "\n")
    load(session, "nspl", path, lsoa_vintage=2021)
    postcode = session.get(models.Postcode, "LS7 0ZD")
    assert postcode is not None and postcode.lsoa_vintage == 2021


def test_reimporting_nspl_removes_postcodes_since_terminated(session: Session, tmp_path: Path) -> None:
    first = (
        NSPL_HEADER + "\n" + nspl_line("LS7 0ZD", LEEDS, "E01011352") + "\n" + nspl_line("LS7 0ZX", LEEDS, "E01011352")
    )
    load(session, "nspl", write_file(tmp_path, "a.csv", first + "\n"))
    later = NSPL_HEADER + "\n" + nspl_line("LS7 0ZD", LEEDS, "E01011352") + "\n"
    later += nspl_line("LS7 0ZX", LEEDS, "E01011352", doterm="202601") + "\n"
    load(session, "nspl", write_file(tmp_path, "b.csv", later))
    assert session.get(models.Postcode, "LS7 0ZX") is None
    assert session.get(models.Postcode, "LS7 0ZD") is not None


# --- bad files: an error naming file, line and column, and nothing changed --------------------------------------


def _assert_rejected(session: Session, kind: str, path: Path, line: int, column: str | None, words: str) -> None:
    before = [count(session, m) for m in (models.Lsoa, models.Ward, models.Postcode, models.GeographyImport)]
    with pytest.raises(importers.GeographyImportError) as caught:
        load(session, kind, path)
    error = caught.value
    assert (error.file, error.line, error.column) == (str(path), line, column)
    assert words in str(error) and path.name in str(error) and f"line {line}" in str(error)
    after = [count(session, m) for m in (models.Lsoa, models.Ward, models.Postcode, models.GeographyImport)]
    assert after == before


def test_wrong_columns_are_rejected_naming_the_missing_column(session: Session, tmp_path: Path) -> None:
    path = write_file(tmp_path, "wrong.csv", "code,name\nE01011370,Leeds 082D\n")
    _assert_rejected(session, "lsoa-ward", path, 1, "LSOA11CD", "missing column")


def test_non_csv_file_is_rejected(session: Session, tmp_path: Path) -> None:
    path = write_file(tmp_path, "lookup.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe\x00\x81binary")
    with pytest.raises(importers.GeographyImportError) as caught:
        load(session, "imd", path)
    assert caught.value.line == 1 and "lookup.zip" in str(caught.value)


def test_truncated_last_line_is_rejected_and_nothing_loaded(session: Session, tmp_path: Path) -> None:
    require_geo_data()
    text = (GEO_DATA / "leeds_LSOA11_to_WD18.csv").read_text()
    path = write_file(tmp_path, "truncated.csv", text.rstrip("\n")[:-30])
    _assert_rejected(session, "lsoa-ward", path, 483, None, "truncated")


def test_truncated_postcode_directory_is_rejected(session: Session, tmp_path: Path) -> None:
    text = SYNTHETIC_NSPL.read_text().rstrip("\r\n")
    path = write_file(tmp_path, "NSPL_cut.csv", text[: len(text) - 200])
    _assert_rejected(session, "nspl", path, 7, None, "expected 40 fields")


def test_code_of_the_wrong_shape_is_rejected_naming_the_column(session: Session, tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        "bad_code.csv",
        "LSOA11CD,LSOA11NM,WD18CD,WD18NM,LAD18CD\n"
        "E01011370,Leeds 082D,E05011386,Beeston & Holbeck,E08000035\n"
        "E0101137,Leeds 082X,E05011386,Beeston & Holbeck,E08000035\n",
    )
    _assert_rejected(session, "lsoa-ward", path, 3, "LSOA11CD", "not a GSS code")


def test_decile_out_of_range_is_rejected(session: Session, tmp_path: Path) -> None:
    path = write_file(tmp_path, "imd2019.csv", "lsoa_code,IMD_decile,IMD_rank\nE01011370,11,2205\n")
    _assert_rejected(session, "imd", path, 2, "IMD_decile", "out of range")


def test_bad_postcode_in_directory_is_rejected(session: Session, tmp_path: Path) -> None:
    text = NSPL_HEADER + "\n" + nspl_line("LS7 0ZD", LEEDS, "E01011352").replace("LS7 0ZD", "NOT APC") + "\n"
    _assert_rejected(session, "nspl", write_file(tmp_path, "nspl.csv", text), 2, "pcds", "not a UK postcode")


def test_directory_without_the_configured_authority_changes_nothing(session: Session, tmp_path: Path) -> None:
    load(session, "nspl", SYNTHETIC_NSPL)
    text = NSPL_HEADER + "\n" + nspl_line("BD7 0ZF", "E08000032", "E01010667") + "\n"
    _assert_rejected(session, "nspl", write_file(tmp_path, "other.csv", text), 2, "laua", "no live postcodes")
    assert count(session, models.Postcode) == 4


def test_imd_year_must_be_stated_when_nothing_says_it(session: Session, tmp_path: Path) -> None:
    path = write_file(tmp_path, "deprivation.csv", "lsoa_code,IMD_decile\nE01011370,1\n")
    _assert_rejected(session, "imd", path, 1, "IMD_decile", "--year")


def test_official_imd_2019_file_1_is_read_and_filtered_to_the_authority(session: Session, tmp_path: Path) -> None:
    path = write_file(
        tmp_path,
        "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv",
        "LSOA code (2011),LSOA name (2011),Local Authority District code (2019),Local Authority District name (2019),"
        "Index of Multiple Deprivation (IMD) Rank,Index of Multiple Deprivation (IMD) Decile\n"
        "E01011370,Leeds 082D,E08000035,Leeds,2205,1\n"
        "E01010667,Bradford 050D,E08000032,Bradford,2500,1\n",
    )
    summary = load(session, "imd", path)
    assert (summary.year, summary.vintage, summary.loaded, summary.skipped) == (
        2019,
        2011,
        {"lsoas": 1},
        {"other local authority": 1},
    )


def test_ward_population_year_comes_from_the_column_name(session: Session) -> None:
    require_geo_data()
    summary = load(session, "ward-population", GEO_DATA / "leeds_ward_population_mid2020_WD19_nomis.csv")
    assert (summary.vintage, summary.year, summary.loaded["wards"]) == (2019, 2020, 33)
    ward = session.get(models.Ward, ("E05012647", 2019))
    assert ward is not None and (ward.name, ward.population) == ("Beeston & Holbeck", 26957)
