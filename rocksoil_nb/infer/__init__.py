"""Inference (08_evaluate, ``rocksoil predict``): full-scene reconstruction from overlapping windows,
prediction on new scenes, and map files that open in QGIS."""
