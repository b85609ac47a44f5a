from . import dunning_reminder_send
