from odoo import Command
from odoo.tests import Form, new_test_user

from .common import DunningCommon


class CollectCommon(DunningCommon):
    """Two collectors and a collection manager of the company; a customer with
    a phone number."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        user_values = {
            "company_id": cls.company.id,
            "company_ids": [Command.set(cls.company.ids)],
            "tz": "America/Mexico_City",
        }
        cls.collector = new_test_user(
            cls.env,
            login="lucia",
            name="Lucía Cobranza",
            groups="account_dunning.group_dunning_collector",
            **user_values,
        )
        cls.collector_2 = new_test_user(
            cls.env,
            login="pedro",
            name="Pedro Cobranza",
            groups="account_dunning.group_dunning_collector",
            **user_values,
        )
        cls.manager = new_test_user(
            cls.env,
            login="jefa",
            name="Jefa de Cobranza",
            groups="account_dunning.group_dunning_manager",
            **user_values,
        )
        cls.customer.write({"mobile": "+52 55 1234 5678"})
        cls.customer.with_company(cls.company).dunning_collector_id = cls.collector
        cls.outcomes = {o.code: o for o in cls.env["dunning.outcome"].search([])}

    def log_form(self, partner=None, user=None, moves=None):
        """The log-a-call wizard as ``user`` (the collector) opens it."""
        env = self.env(user=user or self.collector)
        context = {"default_partner_id": (partner or self.customer).id}
        if moves:
            context = {"active_model": "account.move", "active_ids": moves.ids}
        return Form(env["dunning.interaction.log"].with_context(**context))

    def log(self, code, partner=None, user=None, moves=None, identity=True, **values):
        """Log a call with outcome ``code``; return the new contact log and the
        action the wizard returned."""
        form = self.log_form(partner, user, moves)
        if identity:
            form.identity_confirmed = True
        form.outcome_id = self.outcomes[code]
        for name, value in values.items():
            setattr(form, name, value)
        wizard = form.save()
        action = wizard.action_log()
        interaction = self.env["dunning.interaction"].search(
            [("partner_id", "=", (partner or self.customer).id)],
            order="id desc",
            limit=1,
        )
        return interaction, action
