from . import test_install
from . import test_plan
from . import test_dispatch
from . import test_contact_window
from . import test_security
from . import test_email_smtp
from . import test_reminder_send
