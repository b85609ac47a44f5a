from odoo import fields, models

# What the system does by itself once an outcome is logged (see
# dunning.interaction.log._run_outcome_step).
OUTCOME_ACTIONS = [
    ("none", "Only log it"),
    ("promise", "Register a payment promise"),
    ("plan", "Agree a payment plan"),
    ("resend_invoice", "Resend the invoice and restart its collection level"),
    ("dispute", "Open a dispute and tell the manager"),
    ("wrong_number", "Mark the phone number as wrong"),
    ("already_paid", "Ask the accountant to reconcile the payment"),
    ("callback", "Schedule a call back"),
]


class DunningOutcome(models.Model):
    """The result of a contact with a debtor, and the next step it triggers."""

    _name = "dunning.outcome"
    _description = "Collection Contact Outcome"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="Stable technical key, used by automations and reports.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    action = fields.Selection(
        OUTCOME_ACTIONS,
        string="Next Step",
        required=True,
        default="none",
        help="What happens by itself once a contact with this outcome is logged.",
    )
    counts_as_contact = fields.Boolean(
        string="Reached the Debtor",
        help="The collector spoke with the debtor: counts as a contact in the "
        "frequency caps and in the collectors' results.",
    )
    requires_identity = fields.Boolean(
        help="The outcome is about the debt: it can only be logged once the "
        "collector confirmed that they speak with the debtor (no disclosure to "
        "third parties).",
    )
    description = fields.Text(translate=True)

    _sql_constraints = [
        ("code_unique", "UNIQUE(code)", "An outcome code must be unique."),
    ]
