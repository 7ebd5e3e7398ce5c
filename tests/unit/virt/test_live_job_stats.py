"""JobStats.from_libvirt parses the dict virDomain.jobStats() returns."""

from vmctl.virt import live_job

MiB = 1024 ** 2

# Shaped like a running pre-copy job on the KVM lab (libvirt 9.0, QEMU 10).
RUNNING = {
    "type": 2, "operation": 2, "time_elapsed": 1733, "time_remaining": 0,
    "downtime": 212, "setup_time": 12,
    "data_total": 139_591_680, "data_processed": 162_004_172,
    "data_remaining": 21_307_392,
    "memory_total": 139_591_680, "memory_processed": 162_004_172,
    "memory_remaining": 21_307_392, "memory_constant": 11_834,
    "memory_normal": 39_421, "memory_normal_bytes": 161_468_416,
    "memory_bps": 31_457_280, "memory_dirty_rate": 12_800,
    "memory_page_size": 4096, "memory_iteration": 3,
    "memory_postcopy_requests": 0, "auto_converge_throttle": 20,
    "disk_total": 0, "disk_processed": 0, "disk_remaining": 0, "disk_bps": 0,
}


def test_from_libvirt_running_job():
    stats = live_job.JobStats.from_libvirt(RUNNING)
    assert stats.time_elapsed == 1733 and stats.elapsed_s == 1.733
    assert stats.memory_total == 139_591_680
    assert stats.memory_processed == 162_004_172
    assert stats.memory_remaining == stats.remaining == 21_307_392
    # 12,800 pages/s x 4 KiB = 50 MiB/s, in bytes/s.
    assert stats.memory_dirty_rate == 50 * MiB
    assert stats.memory_iteration == 3
    assert stats.memory_bps == 30 * MiB
    assert stats.downtime == 212
    assert stats.auto_converge_throttle == 20
    assert stats.postcopy is False
    assert stats.job_type == live_job.JOB_UNBOUNDED


def test_page_size_missing_means_4k_and_missing_fields_are_zero():
    stats = live_job.JobStats.from_libvirt({"type": 2, "memory_dirty_rate": 10})
    assert stats.memory_dirty_rate == 40960
    assert stats.memory_total == stats.disk_total == stats.downtime == 0
    assert stats.remaining == 0


def test_huge_pages_scale_the_dirty_rate():
    stats = live_job.JobStats.from_libvirt(
        {"memory_dirty_rate": 3, "memory_page_size": 2 * MiB})
    assert stats.memory_dirty_rate == 6 * MiB


def test_postcopy_from_the_driver_or_from_page_requests():
    assert live_job.JobStats.from_libvirt(RUNNING, postcopy=True).postcopy
    pulled = dict(RUNNING, memory_postcopy_requests=17)
    assert live_job.JobStats.from_libvirt(pulled).postcopy
    assert not live_job.JobStats.from_libvirt(pulled, postcopy=False).postcopy


def test_remaining_without_data_fields_adds_memory_and_disk():
    stats = live_job.JobStats.from_libvirt(
        {"memory_remaining": 5, "disk_remaining": 7, "memory_total": 10, "disk_total": 20})
    assert stats.remaining == 12 and stats.total == 30


def test_completed_job_and_progress():
    done = live_job.JobStats.from_libvirt(dict(RUNNING, type=3, downtime=187))
    assert done.job_type == live_job.JOB_COMPLETED and done.downtime == 187
    assert done.progress() == {
        "memory_total_bytes": 139_591_680, "memory_processed_bytes": 162_004_172,
        "memory_remaining_bytes": 21_307_392, "disk_total_bytes": 0,
        "disk_processed_bytes": 0, "disk_remaining_bytes": 0}
