from . import dunning_reminder_send
from . import dunning_whatsapp_compose
from . import dunning_whatsapp_consent_record
from . import dunning_promise_create
from . import dunning_payment_plan_create
from . import dunning_interaction_log
from . import dunning_aging_date
from . import dunning_payment_verify
