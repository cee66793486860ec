"""A fake of the small part of the Earth Engine API the workbook uses: collections with filters,
images with band maths (recorded, not computed), and ``ee.data.computePixels`` that enforces the
48 MB request limit and returns values computed from each pixel's map coordinates."""

from __future__ import annotations

import datetime as dt
import types

import numpy as np

LIMIT = 48 * 1024 * 1024


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


class _Array:
    def __init__(self, values):
        self.values = values

    def getInfo(self):  # noqa: N802
        return list(self.values)


class Collection:
    def __init__(self, cid, items):
        self.cid, self.items = cid, list(items)

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


class Image:
    def __init__(self, ident, bands=None, ops=()):
        self.ident, self.bands, self.ops = ident, bands, list(ops)

    def _op(self, *op, bands=None):
        return Image(self.ident, bands if bands is not None else self.bands, self.ops + [op])

    def select(self, bands):
        return self._op("select", tuple(bands) if isinstance(bands, list) else (bands,),
                        bands=list(bands) if isinstance(bands, list) else [bands])

    def normalizedDifference(self, bands):  # noqa: N802
        return self._op("normalizedDifference", tuple(bands), bands=["nd"])

    def rename(self, name):
        return self._op("rename", name, bands=[name])

    def bitwiseAnd(self, v):  # noqa: N802
        return self._op("bitwiseAnd", v)

    def eq(self, v):
        return self._op("eq", v)

    def And(self, other):  # noqa: N802
        return self._op("And", tuple(other.ops))

    def updateMask(self, m):  # noqa: N802
        return self._op("updateMask", tuple(m.ops))


class FakeEE:
    """Use as the ``ee`` module: ``FakeEE({collection id: [properties dict, ...]})``."""

    def __init__(self, catalogue):
        self.catalogue = catalogue
        self.Filter = _Filter
        self.Geometry = types.SimpleNamespace(Rectangle=lambda coords, proj=None, geodesic=None: ("rect", tuple(coords)))
        self.data = types.SimpleNamespace(computePixels=self._compute)
        self.requests: list[dict] = []
        self.project = None
        self.EEException = EEException

    def Initialize(self, project=None, credentials=None):  # noqa: N802
        self.project = project

    def ImageCollection(self, cid):  # noqa: N802
        return Collection(cid, self.catalogue.get(cid, []))

    def Image(self, ident):  # noqa: N802
        return Image(ident)

    def _compute(self, request):
        g = request["grid"]
        w, h = g["dimensions"]["width"], g["dimensions"]["height"]
        bands = request["bandIds"]
        if w * h * len(bands) * 4 > LIMIT:
            raise EEException(f"Total request size ({w * h * len(bands) * 4} bytes) must be less than or equal to {LIMIT} bytes.")
        self.requests.append(request)
        a = g["affineTransform"]
        x = a["translateX"] + (np.arange(w) + 0.5) * a["scaleX"]
        y = a["translateY"] + (np.arange(h) + 0.5) * a["scaleY"]
        xx, yy = np.meshgrid(x, y)
        out = np.zeros((h, w), dtype=[(b, "f4") for b in bands])
        for i, b in enumerate(bands):
            out[b] = ((xx + 3 * yy) % 997 + i).astype("f4") if b not in ("NDVI",) else np.clip(((xx % 100) / 100), 0, 1)
        return out
