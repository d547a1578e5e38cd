"""The four roles. Each is a Django group; permissions are checked by group membership."""

from __future__ import annotations

ADMIN = "admin"
ACCOUNTANT = "accountant"
APPROVER = "approver"
AUDITOR = "auditor"
ROLES = (ADMIN, ACCOUNTANT, APPROVER, AUDITOR)
