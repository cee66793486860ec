"""Preparation (02_labels, 03_preprocess, 05_patches): geology labels, the scene inventory, the aligned
cube, patches and sequences of the seven variants, and the split protocols (thesis, spatial, and thesis_files on imports)."""
