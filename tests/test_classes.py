import numpy as np

from rocksoil_nb.core import classes


def test_fixed_codes_and_groups():
    assert classes.N_CLASSES == 14
    assert classes.CODES == tuple(range(14))
    assert classes.name(0) == "No data" and classes.name(13) == "Water" and classes.name(9) == "Volcanic"
    assert classes.SOILS == (1, 2, 3, 4, 5, 6)
    assert classes.ROCKS == (7, 8, 9, 10, 11, 12)
    assert classes.code_of("non foliated") == 12 and classes.code_of("Carbonate") == 8


def test_colours_unique_and_colormap_has_14():
    cols = [c.color for c in classes.CLASSES]
    assert len(set(cols)) == 14
    cmap, norm = classes.colormap()
    assert cmap.N == 14
    assert norm(np.array([0, 13])).tolist() == [0, 13]
    assert classes.rgb_table()[13][:3] == (0x1D, 0x4E, 0xD8)


def test_legend_handles_only_present():
    h = classes.legend_handles([2, 7, 7, 13])
    assert [x.get_label() for x in h] == ["2 Clay", "7 Detritic", "13 Water"]
