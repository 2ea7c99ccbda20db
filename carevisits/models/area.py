"""Areas: street 街道 → community 社区 → grid 网格."""

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from carevisits.extensions import db


class Street(db.Model):
    """A street office 街道, the top of an area tree."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    communities: Mapped[list["Community"]] = relationship(
        back_populates="street", order_by="Community.name"
    )


class Community(db.Model):
    """A community 社区 of a street, with the hotline printed on its door cards."""

    __table_args__ = (UniqueConstraint("street_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    hotline: Mapped[str] = mapped_column(String(40), default="")

    street: Mapped[Street] = relationship(back_populates="communities")
    grids: Mapped[list["Grid"]] = relationship(back_populates="community", order_by="Grid.name")


class Grid(db.Model):
    """A grid 网格 of a community: the patch one grid worker covers."""

    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))

    community: Mapped[Community] = relationship(back_populates="grids")

    @property
    def label(self) -> str:
        """The grid's full name, community first."""
        return f"{self.community.name} · {self.name}"
