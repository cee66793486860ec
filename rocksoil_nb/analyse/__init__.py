"""Analysis (04, 08, 09): thermal signatures, the results tables with baselines, evaluation of runs
and maps, the NDVI analysis and the difficulty check of an area."""
