from . import dunning_engine_record
from . import dunning_weekday
from . import dunning_holiday
from . import dunning_policy
from . import dunning_level
from . import dunning_reminder
from . import dunning_reminder_line
from . import account_move
from . import res_company
from . import res_config_settings
from . import res_partner
from . import dunning_whatsapp_account
from . import dunning_whatsapp_template
from . import dunning_whatsapp_message
from . import dunning_whatsapp_event
from . import ir_actions_server
from . import dunning_portal_token
from . import dunning_portal_throttle
from . import dunning_promise
from . import dunning_dispute
from . import dunning_payment_plan
from . import dunning_outcome
from . import dunning_interaction

# SQL views last: they read the tables of the models above.
from . import dunning_worklist
from . import dunning_timeline
from . import dunning_collector_report
