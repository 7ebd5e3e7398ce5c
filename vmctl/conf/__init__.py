"""oslo.config options, one module per area.

``register_all`` registers every area on a ConfigOpts; ``opts.list_opts``
feeds oslo-config-generator, so the sample config is generated, never
hand-written.
"""

from vmctl.conf import api
from vmctl.conf import cold_migration
from vmctl.conf import compute
from vmctl.conf import conductor
from vmctl.conf import database
from vmctl.conf import default
from vmctl.conf import fake
from vmctl.conf import identity
from vmctl.conf import image
from vmctl.conf import libvirt
from vmctl.conf import migration
from vmctl.conf import scheduler
from vmctl.conf import service_user

AREAS = (default, database, api, conductor, scheduler, compute, fake, libvirt, image,
         migration, cold_migration, identity, service_user)


def register_all(conf):
    for area in AREAS:
        area.register_opts(conf)
    return conf
