"""Channel views by inheritance (18.0.1.4.0).

The e-mail, WhatsApp and collector activity fields left the base level and
policy views for views of their own, and the SMS and letter views now anchor
on the base views' neutral places (the ``channels`` group, the company
column, the Group By). Their stored archs still anchor on the WhatsApp
fields, which the updated base views no longer hold: Odoo would refuse the
base views before reloading the children. The children are deleted here and
created again from their files by the update.
"""

import logging

_logger = logging.getLogger(__name__)

CHILD_VIEWS = [
    f"dunning_{model}_view_{kind}_{channel}"
    for channel in ("sms", "letter")
    for model, kinds in (("level", ("list", "form", "search")), ("policy", ("form",)))
    for kind in kinds
]


def migrate(cr, version):
    cr.execute(
        """
        DELETE FROM ir_ui_view
         WHERE id IN (SELECT res_id
                        FROM ir_model_data
                       WHERE module = 'account_dunning'
                         AND model = 'ir.ui.view'
                         AND name = ANY(%s))
        """,
        [CHILD_VIEWS],
    )
    deleted = cr.rowcount
    cr.execute(
        """
        DELETE FROM ir_model_data
         WHERE module = 'account_dunning'
           AND model = 'ir.ui.view'
           AND name = ANY(%s)
        """,
        [CHILD_VIEWS],
    )
    _logger.info("Channel views reloaded from their files: %s", deleted)
