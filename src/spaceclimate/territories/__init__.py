"""Territories: places users study, the local data they bring, and match-ups with pooled records.

:mod:`.places` reads a territory (polygon, point with radius, named region);
:mod:`.localdata` reads and checks station uploads (CSV, CF NetCDF); :mod:`.store` keeps both
in the hub's database; :mod:`.matchup` pairs a local series with a pooled record;
:mod:`.service` ties them to a hub.
"""

from spaceclimate.territories.service import Territories, territories_for
from spaceclimate.territories.store import Caller

__all__ = ["Caller", "Territories", "territories_for"]
