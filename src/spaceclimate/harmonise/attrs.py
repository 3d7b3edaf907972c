"""Names and attributes every harmonised dataset carries, whichever path harmonised it."""

from __future__ import annotations

#: Global attribute naming the source file of a harmonised dataset (not stored in cubes).
SOURCE_ATTR = "sco_source_file"

#: Attributes of the CF ``time`` axis.
TIME_ATTRS = {"standard_name": "time", "long_name": "time", "axis": "T", "bounds": "time_bnds"}

#: Attributes of a variable people read in other units than its stored ones: the units and
#: the factor taking a stored value to them (``shown = stored * scale``).
DISPLAY_UNITS_ATTR = "sco_display_units"
DISPLAY_SCALE_ATTR = "sco_display_scale"
