"""Reports this host's inventory to the conductor.

Usage is not reported: it is the sum of the claims the scheduler made, kept
in the database. The tracker reports what the hypervisor has, the
allocation ratios and the zone, at start and every
``[compute] resource_report_interval`` seconds.
"""

import logging

LOG = logging.getLogger(__name__)


class ResourceTracker:
    def __init__(self, conf, driver, conductor):
        self.conf = conf
        self.driver = driver
        self.conductor = conductor

    def inventory(self):
        resources = dict(self.driver.get_available_resource())
        compute = self.conf.compute
        resources.update(
            availability_zone=compute.availability_zone or self.conf.default_availability_zone,
            cpu_allocation_ratio=compute.cpu_allocation_ratio,
            ram_allocation_ratio=compute.ram_allocation_ratio,
            disk_allocation_ratio=compute.disk_allocation_ratio,
            running_vms=len(self.driver.list_instances()))
        return resources

    def report(self, ctx):
        self.conductor.update_inventory(ctx, self.conf.host, self.driver.nodename,
                                        self.inventory())
