"""Places near a point or inside a box, from the R*Tree of coordinates (migration 0007).

The R*Tree narrows the search to a box (the box around a circle, for `near`); the exact test -
great-circle distance, or the box's own bounds - then runs on those few places only. Longitudes
wrap: a box from 170 to -170 crosses the antimeridian, and so may a circle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Float, Integer, Table, and_, bindparam, case, column, func, or_, select, text
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.selectable import TextualSelect

from app.record_types.place.model import Place

PL = cast(Table, Place.__table__)
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
# R*Tree coordinates are 32-bit floats (about 1e-5 degrees apart at 180): the searched box is
# widened by this much, and the exact test on `places` decides.
SLACK_DEGREES = 1e-4


@dataclass(frozen=True, slots=True)
class Area:
    """A box (south, north, west, east; west > east crosses the antimeridian), or a circle in its box."""

    south: float
    north: float
    west: float
    east: float
    centre: tuple[float, float] | None = None  # (latitude, longitude) of a circle
    radius_km: float | None = None

    @classmethod
    def box(cls, west: float, south: float, east: float, north: float) -> Area:
        return cls(south, north, west, east)

    @classmethod
    def around(cls, latitude: float, longitude: float, radius_km: float) -> Area:
        """The circle, in the smallest box of latitudes and longitudes that holds it."""
        degrees = radius_km / KM_PER_DEGREE
        south, north = latitude - degrees, latitude + degrees
        if south <= -90 or north >= 90 or radius_km / EARTH_RADIUS_KM >= math.pi / 2:
            west, east = -180.0, 180.0  # a pole is inside: every longitude
        else:
            # the widest longitude a great circle of this radius reaches from the centre
            spread = math.degrees(math.asin(math.sin(radius_km / EARTH_RADIUS_KM) / math.cos(math.radians(latitude))))
            west, east = longitude - spread, longitude + spread
            if west < -180:
                west += 360
            if east > 180:
                east -= 360
        return cls(max(south, -90.0), min(north, 90.0), west, east, (latitude, longitude), radius_km)

    @property
    def wraps(self) -> bool:
        return self.west > self.east

    @property
    def shape(self) -> tuple[bool, bool]:
        return (self.centre is not None, self.wraps)

    @property
    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "area_south": self.south - SLACK_DEGREES, "area_north": self.north + SLACK_DEGREES,
            "area_west": self.west - SLACK_DEGREES, "area_east": self.east + SLACK_DEGREES,
            "exact_south": self.south, "exact_north": self.north, "exact_west": self.west, "exact_east": self.east,
        }  # fmt: skip
        if self.centre is not None:
            values.update(centre_lat=self.centre[0], centre_lon=self.centre[1], radius_km=self.radius_km)
        return values


def _in_tree(area: Area) -> TextualSelect:
    longitudes = (
        "(max_lon >= :area_west OR min_lon <= :area_east)"
        if area.wraps
        else "max_lon >= :area_west AND min_lon <= :area_east"
    )
    return text(
        f"SELECT id FROM places_rtree WHERE max_lat >= :area_south AND min_lat <= :area_north AND {longitudes}"
    ).columns(column("id", Integer))


def distance_km() -> ColumnElement[float]:
    """Great-circle (haversine) distance from :centre_lat, :centre_lon to each place, in km."""
    lat, lon = func.radians(PL.c.latitude), func.radians(PL.c.longitude)
    centre_lat, centre_lon = func.radians(bindparam("centre_lat")), func.radians(bindparam("centre_lon"))
    half_chord = func.power(func.sin((lat - centre_lat) / 2), 2) + func.cos(centre_lat) * func.cos(lat) * func.power(
        func.sin((lon - centre_lon) / 2), 2
    )
    root = func.sqrt(half_chord)
    clamped = case((root > 1, 1.0), else_=root)  # rounding can pass 1 for antipodes; asin would fail
    return cast(ColumnElement[float], (2 * EARTH_RADIUS_KM * func.asin(clamped)).cast(Float))


def inside(area: Area) -> list[ColumnElement[bool]]:
    """Conditions on `places` for lying in the area (the R*Tree first, then the exact test)."""
    conditions: list[ColumnElement[bool]] = [PL.c.id.in_(_in_tree(area))]
    if area.centre is not None:
        conditions.append(distance_km() <= bindparam("radius_km"))
        return conditions
    conditions.append(PL.c.latitude.between(bindparam("exact_south"), bindparam("exact_north")))
    west, east = PL.c.longitude >= bindparam("exact_west"), PL.c.longitude <= bindparam("exact_east")
    conditions.append(or_(west, east) if area.wraps else and_(west, east))
    return conditions


def places_in(area: Area) -> Select[Any]:
    """The ids of the places in the area."""
    return select(PL.c.id).where(*inside(area))
