"""The street's register: areas and who works each grid, households, elders, and imports
and exports of the spreadsheet a street keeps. Importing the page modules registers their
routes on the blueprint."""

from carevisits.register import areas, devices, elder_records, households, imports
from carevisits.register.blueprint import bp

__all__ = ["areas", "bp", "devices", "elder_records", "households", "imports"]
