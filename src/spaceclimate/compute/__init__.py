"""Computations on harmonised cubes: subsetting, regridding, statistics, indicators.

Every function here takes and returns plain :class:`xarray.Dataset` objects (lazy where the
input is lazy) and knows nothing of the API, the catalog or file formats.
"""
