"""Geography: postcode → LSOA → ward and IMD decile, from the official ONS and MHCLG files.

Other domains use `from signpost.geography import service as geography` (normalise_postcode, resolve, Place,
age_band, AGE_BANDS, distance_km, list_wards). `importers` loads the files, `cli` is `signpost geography`,
`starter` is the embedded default, `online` the optional self-hosted postcodes.io-compatible resolver.
"""
