"""Pure-Python services of account_dunning (no Odoo import: unit-testable alone)."""
