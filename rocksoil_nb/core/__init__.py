"""Core facts and rules every stage shares: the 14 classes, raster grids, sun position and seasons,
ECOSTRESS and Sentinel file naming (and the ECOSTRESS QC bits), and atomic file writing.
Imports nothing else of the package."""
