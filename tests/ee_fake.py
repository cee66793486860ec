"""A fake of the part of the Earth Engine API the workbook uses, behaving as the service does (not as our code
expects): collections with filters, images whose band maths is *evaluated* (masks included), mosaics, and
``ee.data.computePixels`` with ``NUMPY_NDARRAY`` returning what the real client returns: a plain structured array
(``numpy.load`` of the payload, earthengine-api ``image_converter.NumPyConverter``) with one field per band in the
band's own type, and the server's fill (0) where a pixel is masked — no NumPy mask. The request size counts one
mask byte per band per pixel on top of the data type (Earth Engine's accounting; google/Xee#209) and an oversized
request fails with the server's text.

Catalogue items are property dicts; keys starting with ``_`` describe pixels:
``_bands`` {band: dtype}, ``_values`` {band: f(x, y) -> values}, ``_valid`` f(x, y) -> bool (the image footprint,
every band), ``_band_valid`` {band: f(x, y) -> bool}. ``x, y`` are map coordinates (metres) of pixel centres."""

from __future__ import annotations

import datetime as dt
import types

import numpy as np

LIMIT = 48 * 1024 * 1024
MAX_SIDE = 32768
FILL = 0  # what the server writes where a pixel is masked


class EEException(Exception):
    pass


class _Filter:
    @staticmethod
    def eq(prop, val):
        return lambda d: d.get(prop) == val

    @staticmethod
    def lt(prop, val):
        return lambda d: d.get(prop, 1e9) < val

    @staticmethod
    def listContains(prop, val):  # noqa: N802 - Earth Engine's spelling
        return lambda d: val in d.get(prop, [])

    @staticmethod
    def inList(prop, values):  # noqa: N802
        vals = list(values)
        return lambda d: d.get(prop) in vals


class _Array:
    def __init__(self, values):
        self.values = values

    def getInfo(self):  # noqa: N802
        return list(self.values)


def _default_values(band: str, i: int):
    return lambda x, y: ((x + 3 * y) % 997 + i).astype("f8")


class Image:
    """An image as a function of pixel-centre coordinates: ``fn(x, y) -> {band: (values, valid)}``; ``ops`` records
    the calls made (for tests that check what was asked)."""

    def __init__(self, fn, bands: list[str], dtypes: dict[str, str], ops=(), ident: str = ""):
        self.fn, self.bands, self.dtypes, self.ops, self.ident = fn, list(bands), dict(dtypes), list(ops), ident

    @classmethod
    def from_item(cls, cid: str, item: dict) -> Image:
        dtypes = dict(item.get("_bands") or {"b": "f4"})
        values = item.get("_values", {})
        footprint = item.get("_valid")
        band_valid = item.get("_band_valid", {})

        def fn(x, y):
            out = {}
            base = np.ones(x.shape, bool) if footprint is None else np.asarray(footprint(x, y), bool)
            for i, b in enumerate(dtypes):
                v = values.get(b, _default_values(b, i))(x, y)
                ok = base & (np.asarray(band_valid[b](x, y), bool) if b in band_valid else True)
                out[b] = (np.asarray(v, "f8"), ok)
            return out

        return cls(fn, list(dtypes), dtypes, [("image", f"{cid}/{item['system:index']}")], f"{cid}/{item['system:index']}")

    def _derive(self, fn, bands, dtypes, *op):
        return Image(fn, bands, dtypes, self.ops + [op], self.ident)

    # ---- band selection and naming
    def select(self, bands):
        names = list(bands) if isinstance(bands, (list, tuple)) else [bands]
        missing = [b for b in names if b not in self.bands]
        if missing:
            raise EEException(f"Image.select: Pattern '{missing[0]}' did not match any bands.")
        return self._derive(lambda x, y: {b: self.fn(x, y)[b] for b in names}, names, {b: self.dtypes[b] for b in names},
                            "select", tuple(names))

    def rename(self, name):
        names = list(name) if isinstance(name, (list, tuple)) else [name]

        def fn(x, y):
            got = self.fn(x, y)
            return dict(zip(names, [got[b] for b in self.bands], strict=True))

        return self._derive(fn, names, dict(zip(names, self.dtypes.values(), strict=True)), "rename", tuple(names))

    # ---- maths (per band, masks propagate)
    def _unary(self, f, dtype, *op):
        def fn(x, y):
            return {b: (f(v), m) for b, (v, m) in self.fn(x, y).items()}

        return self._derive(fn, self.bands, {b: dtype or self.dtypes[b] for b in self.bands}, *op)

    def _binary(self, other, f, dtype, *op):
        if isinstance(other, Image):
            def fn(x, y):
                a, o = self.fn(x, y), other.fn(x, y)
                ov, om = next(iter(o.values()))
                return {b: (f(v, ov), m & om) for b, (v, m) in a.items()}

            return self._derive(fn, self.bands, {b: dtype for b in self.bands}, *op, tuple(other.ops))
        return self._unary(lambda v: f(v, other), dtype, *op, other)

    def bitwiseAnd(self, v):  # noqa: N802
        return self._unary(lambda a: (a.astype(np.int64) & int(v)).astype("f8"), None, "bitwiseAnd", v)

    def eq(self, v):
        return self._binary(v, lambda a, b: (a == b).astype("f8"), "u1", "eq")

    def neq(self, v):
        return self._binary(v, lambda a, b: (a != b).astype("f8"), "u1", "neq")

    def gte(self, v):
        return self._binary(v, lambda a, b: (a >= b).astype("f8"), "u1", "gte")

    def lt(self, v):
        return self._binary(v, lambda a, b: (a < b).astype("f8"), "u1", "lt")

    def And(self, other):  # noqa: N802
        return self._binary(other, lambda a, b: ((a != 0) & (b != 0)).astype("f8"), "u1", "And")

    def Or(self, other):  # noqa: N802
        return self._binary(other, lambda a, b: ((a != 0) | (b != 0)).astype("f8"), "u1", "Or")

    def toFloat(self):  # noqa: N802
        return self._unary(lambda a: a.astype(np.float32).astype("f8"), "f4", "toFloat")

    def normalizedDifference(self, bands):  # noqa: N802
        a, b = bands

        def fn(x, y):
            got = self.fn(x, y)
            (va, ma), (vb, mb) = got[a], got[b]
            with np.errstate(invalid="ignore", divide="ignore"):
                return {"nd": ((va - vb) / (va + vb), ma & mb)}

        return self._derive(fn, ["nd"], {"nd": "f4"}, "normalizedDifference", (a, b))

    def updateMask(self, mask):  # noqa: N802
        def fn(x, y):
            mv, mm = next(iter(mask.fn(x, y).values()))
            return {b: (v, m & mm & (mv != 0)) for b, (v, m) in self.fn(x, y).items()}

        return self._derive(fn, self.bands, self.dtypes, "updateMask", tuple(mask.ops))

    def unmask(self, value=0, sameFootprint=True):  # noqa: N803 - Earth Engine's spelling
        """Masked pixels take ``value``; with ``sameFootprint`` (the default) pixels outside the image's footprint
        stay masked, as in Earth Engine."""
        def fn(x, y):
            got = self.fn(x, y)
            foot = np.zeros(x.shape, bool)
            for _, m in got.values():
                foot |= m
            keep = foot if sameFootprint else np.ones(x.shape, bool)
            return {b: (np.where(m, v, float(value)), keep) for b, (v, m) in got.items()}

        dtypes = {b: ("f4" if isinstance(value, float) and not d.startswith("f") else d) for b, d in self.dtypes.items()}
        return self._derive(fn, self.bands, dtypes, "unmask", value, sameFootprint)


class Collection:
    def __init__(self, cid, items, images=None):
        self.cid, self.items = cid, list(items)
        self.images = images  # a collection made from a list of images

    def filterBounds(self, geom):  # noqa: N802
        return self

    def filterDate(self, start, end):  # noqa: N802
        t0 = dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC).timestamp() * 1000
        t1 = dt.datetime.fromisoformat(end).replace(tzinfo=dt.UTC).timestamp() * 1000
        return Collection(self.cid, [i for i in self.items if t0 <= i["system:time_start"] < t1])

    def filter(self, f):
        return Collection(self.cid, [i for i in self.items if f(i)])

    def aggregate_array(self, prop):
        return _Array([i.get(prop) for i in self.items])

    def _image_list(self) -> list[Image]:
        return list(self.images) if self.images is not None else [Image.from_item(self.cid, i) for i in self.items]

    def mosaic(self):
        """Later images on top where they are unmasked (Earth Engine's ``mosaic``)."""
        imgs = self._image_list()
        if not imgs:
            raise EEException("ImageCollection.mosaic: empty collection")
        bands = imgs[0].bands

        def fn(x, y):
            out = {b: (np.zeros(x.shape), np.zeros(x.shape, bool)) for b in bands}
            for im in imgs:
                got = im.fn(x, y)
                for b in bands:
                    v, m = got[b]
                    ov, om = out[b]
                    out[b] = (np.where(m, v, ov), om | m)
            return out

        return Image(fn, bands, imgs[0].dtypes, [("mosaic", tuple(im.ident for im in imgs))])


class FakeEE:
    """Use as the ``ee`` module: ``FakeEE({collection id: [properties dict, ...]})``."""

    def __init__(self, catalogue):
        self.catalogue = catalogue
        self.Filter = _Filter
        self.Geometry = types.SimpleNamespace(Rectangle=lambda coords, proj=None, geodesic=None: ("rect", tuple(coords)))
        self.data = types.SimpleNamespace(computePixels=self._compute)
        self.requests: list[dict] = []
        self.returned: list[np.ndarray] = []
        self.project = None
        self.credentials = None
        self.EEException = EEException

    def Initialize(self, credentials="persistent", project=None, **kw):  # noqa: N802
        self.project, self.credentials = project, credentials

    def ImageCollection(self, cid):  # noqa: N802
        if isinstance(cid, list):
            return Collection("list", [], images=cid)
        return Collection(cid, self.catalogue.get(cid, []))

    def Image(self, ident):  # noqa: N802
        cid, _, index = ident.rpartition("/")
        item = next((i for i in self.catalogue.get(cid, []) if i["system:index"] == index), None)
        if item is None:
            raise EEException(f"Image.load: Image asset '{ident}' not found (does not exist or caller does not have access).")
        return Image.from_item(cid, item)

    def _compute(self, request):
        g = request["grid"]
        w, h = g["dimensions"]["width"], g["dimensions"]["height"]
        if w > MAX_SIDE or h > MAX_SIDE:
            raise EEException(f"Pixel grid dimensions ({w}x{h}) must be less than or equal to {MAX_SIDE}.")
        img: Image = request["expression"]
        bands = request.get("bandIds") or img.bands
        size = sum((np.dtype(img.dtypes[b]).itemsize + 1) * w * h for b in bands)  # + one mask byte per band
        if size > LIMIT:
            raise EEException(f"Total request size ({size} bytes) must be less than or equal to {LIMIT} bytes.")
        self.requests.append(request)
        a = g["affineTransform"]
        x = a["translateX"] + (np.arange(w) + 0.5) * a["scaleX"]
        y = a["translateY"] + (np.arange(h) + 0.5) * a["scaleY"]
        xx, yy = np.meshgrid(x, y)
        got = img.fn(xx, yy)
        out = np.zeros((h, w), dtype=[(b, img.dtypes[b]) for b in bands])
        for b in bands:
            v, m = got[b]
            out[b] = np.where(m, v, FILL).astype(img.dtypes[b])
        self.returned.append(out)
        return out
