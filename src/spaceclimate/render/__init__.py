"""Drawing cubes: colour maps, grids, Web Mercator tiles, PNG encoding, legends.

One renderer for everything that draws a map: the tiles API (:mod:`spaceclimate.api.tiles`)
and the portal's native-projection maps, differences and thumbnails
(:mod:`spaceclimate.portal`). Nothing here knows HTTP:

- :mod:`.colormaps`: colour maps, look-up tables, value ranges;
- :mod:`.grids`: a cube's grid and overview levels, and the cell under each pixel;
- :mod:`.mercator`: the XYZ tile scheme in Web Mercator;
- :mod:`.tiles`: a tile's pixels from a cube, and PNG encoding;
- :mod:`.legend`: colour bars and their stops;
- :mod:`.layers`: which collections have a grid, which time step to draw;
- :mod:`.cache`: the small caches the renderers share.
"""

from __future__ import annotations
