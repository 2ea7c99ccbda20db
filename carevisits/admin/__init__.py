"""Administration: accounts, roles and scopes; API keys of integrations. Importing the page
modules registers their routes on the blueprint."""

from carevisits.admin import apikeys, users
from carevisits.admin.blueprint import bp

__all__ = ["apikeys", "bp", "users"]
