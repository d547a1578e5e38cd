"""Names the office shows for roles, in the reader's language."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from solidarity.apps.accounts.roles import ACCOUNTANT, ADMIN, APPROVER, AUDITOR

ROLE_NAMES = {
    ADMIN: _("administrator"),
    ACCOUNTANT: _("accountant"),
    APPROVER: _("approver"),
    AUDITOR: _("auditor"),
}
