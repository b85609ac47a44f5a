from . import whatsapp_webhook
from . import portal
from . import portal_forms
