from odoo import _, api, models
from odoo.exceptions import AccessError


class DunningEngineRecord(models.AbstractModel):
    """The contact history: records whose facts only the engine writes.

    A reminder's state, its dates, the provider's ids and errors are what the
    audit trail says happened to a debtor; a user who could rewrite them could
    also make the dispatcher contact the debtor again (a ``sent`` reminder set
    back to ``queued``). So those fields are written only in superuser mode:
    by the crons, the webhooks, and the methods that act on a user's behalf
    after checking the user's own rights (``check_access`` then ``sudo()``).
    Access rights alone cannot say this: a collector needs write access to a
    reminder for the engine to act as them, but not to its facts.

    A model lists its engine fields in ``_dunning_engine_fields``, the fields a
    user gives once when creating a record (the date of a call they log) in
    ``_dunning_frozen_fields``, and says which of its records no user may
    change at all any more in :meth:`_dunning_settled` (a sent contact:
    corrections are new records).
    """

    _name = "dunning.engine.record"
    _description = "Collections Record Written by the Engine"

    # Fields written only in superuser mode, on create and on write; None: all.
    _dunning_engine_fields = frozenset()
    # Fields a user may give on create but never change afterwards.
    _dunning_frozen_fields = frozenset()

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                self._dunning_check_user_values(vals, self._dunning_engine_set())
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._dunning_check_user_values(
                vals, self._dunning_engine_set() | self._dunning_frozen_fields
            )
            if self._dunning_settled():
                raise AccessError(
                    _(
                        "%(records)s: this contact is part of the audit trail and "
                        "can no longer be changed. Record a correction as a new "
                        "entry instead.",
                        records=self._description,
                    )
                )
        return super().write(vals)

    def _dunning_engine_set(self):
        """The engine fields of every class of the model: a file that adds
        fields to a model by inheritance (a channel plug-in) lists its own."""
        declared = [
            klass.__dict__["_dunning_engine_fields"]
            for klass in type(self).__mro__
            if "_dunning_engine_fields" in klass.__dict__
        ]
        if any(names is None for names in declared):
            return frozenset(self._fields)
        return frozenset().union(*declared)

    def _dunning_settled(self):
        """The records of ``self`` that no user may change any more."""
        return self.browse()

    def _dunning_check_user_values(self, vals, protected):
        forbidden = sorted(protected & set(vals))
        if forbidden:
            labels = [self._fields[name].string for name in forbidden]
            raise AccessError(
                _(
                    "%(model)s: %(fields)s can only be written by the collections "
                    "engine, not by a user.",
                    model=self._description,
                    fields=", ".join(labels),
                )
            )
