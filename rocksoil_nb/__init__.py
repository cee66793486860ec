"""rocksoil_nb: map rocks and soils from ECOSTRESS thermal time series.

The notebooks under ``notebooks/`` call thin helpers from these modules; every
module has one job (see ``README.md`` for the map of the package).
"""

from rocksoil_nb.core import logs

__version__ = "0.1.0"
logs.show()
