"""The areas the commands take as options (--street, --community, --grid, --building)."""

import click
from sqlalchemy import case, select

from carevisits.extensions import db
from carevisits.models import Community, Grid, Household, Street


def grids_named(name: str) -> list[int]:
    """Grid ids matching 'grid' or 'community grid'."""
    community, _, grid = name.strip().rpartition(" ")
    query = select(Grid.id).join(Community).where(Grid.name == grid)
    if community:
        query = query.where(Community.name == community.strip())
    return list(db.session.scalars(query))


def area_clause(street, community, grid_name, building):
    """The WHERE clause of households in the area the options name (one of them)."""
    if street:
        return Grid.community_id.in_(select(Community.id).join(Street)
                                     .where(Street.name == street))
    if community:
        return Community.name == community
    if grid_name:
        grids = grids_named(grid_name)
        if not grids:
            raise click.BadParameter(f"no grid called {grid_name!r}", param_hint="--grid")
        return Household.grid_id.in_(grids)
    # As format_building writes it: 芙蓉街37号院2号楼, or the address of a 平房 alone.
    return case((Household.building == "", Household.address),
                else_=Household.address + Household.building + "号楼") == building


