"""The four roles. Each is a Django group; permissions are checked by group membership.

A superuser holds the admin role only: being a superuser never stands in for the approver,
accountant or auditor role (a tranche approval counts only from an approver).
"""

from __future__ import annotations

ADMIN = "admin"
ACCOUNTANT = "accountant"
APPROVER = "approver"
AUDITOR = "auditor"
ROLES = (ADMIN, ACCOUNTANT, APPROVER, AUDITOR)

OTP_ROLES = (ADMIN, APPROVER)
"""Roles that reach the admin or change anything in the back office only after a TOTP check."""
