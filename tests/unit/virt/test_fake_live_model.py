"""The fake driver's migration model behaves like QEMU pre-copy/post-copy."""

import pytest

from vmctl.virt import fake_live_model
from vmctl.virt import live_job

MiB = 1024 ** 2
GiB = 1024 ** 3


def _model(**kw):
    args = dict(memory_bytes=GiB, dirty_rate_bps=10 * MiB, bandwidth_bps=100 * MiB,
                noise=0.0)
    args.update(kw)
    return fake_live_model.FakeMigration(**args)


def test_first_pass_sends_all_memory_and_reports_like_qemu():
    m = _model()
    m.advance(5)
    s = m.stats()
    assert s.memory_iteration == 1
    assert s.memory_processed == 500 * MiB
    assert s.memory_remaining == 524 * MiB
    assert s.memory_dirty_rate == 0            # measured at the first sync
    assert s.memory_bps == 100 * MiB and s.time_elapsed == 5000
    assert s.job_type == live_job.JOB_UNBOUNDED


def test_later_passes_send_what_the_previous_one_dirtied():
    m = _model()
    m.set_max_downtime(1)                      # never switch in this test
    m.advance(10.24 + 0.01)
    s = m.stats()
    assert s.memory_iteration == 2
    assert s.memory_dirty_rate == pytest.approx(10 * MiB, rel=1e-6)
    assert m.passes[1][2] == pytest.approx(102.4 * MiB, rel=1e-6)


def test_switch_over_when_pending_fits_the_allowed_downtime():
    m = _model()
    m.set_max_downtime(50)
    m.advance(60)
    assert m.status == "completed"
    # Pending must fall to 5 MiB (50 ms at 100 MiB/s): in pass 3.
    assert m.stats().memory_iteration == 3
    assert m.downtime_ms == pytest.approx(50 + fake_live_model.SWITCHOVER_MS, abs=0.01)
    assert m.stats().job_type == live_job.JOB_COMPLETED


def test_working_set_bounds_what_a_pass_dirties():
    m = _model(dirty_rate_bps=150 * MiB, working_set_bytes=40 * MiB)
    m.set_max_downtime(100)
    m.advance(30)
    assert m.status == "running"
    assert max(size for _, _, size in m.passes[1:]) <= 40 * MiB


def test_deterministic_for_a_seed_and_noisy_across_seeds():
    def run(seed):
        m = fake_live_model.FakeMigration(GiB, 60 * MiB, 100 * MiB, seed=seed)
        m.set_max_downtime(50)
        m.advance(100)
        return m.now, m.passes
    assert run(1) == run(1)
    assert run(1) != run(2)


def test_postcopy_completes_with_a_tiny_downtime_and_cannot_be_aborted():
    m = _model(dirty_rate_bps=120 * MiB)
    m.advance(12)
    m.start_postcopy()
    with pytest.raises(fake_live_model.MigrationStateError):
        m.abort()
    m.advance(30)
    assert m.status == "completed"
    assert m.downtime_ms == fake_live_model.POSTCOPY_DOWNTIME_MS
    assert m.stats().memory_postcopy_requests > 0


def test_throttle_cuts_the_dirty_rate_and_costs_guest_cpu():
    m = _model(dirty_rate_bps=120 * MiB)
    m.throttle(50)
    m.set_max_downtime(1)
    m.advance(10.24 + 0.01)
    assert m.stats().memory_dirty_rate == pytest.approx(60 * MiB, rel=1e-3)
    assert m.stats().auto_converge_throttle == 50
    assert m.guest_cpu_lost_s == pytest.approx(0.5 * 10.25, rel=1e-6)


def test_pause_converges_and_the_guest_sees_the_whole_pause():
    m = _model(dirty_rate_bps=120 * MiB)
    m.advance(20)
    m.pause()
    m.advance(30)
    assert m.status == "completed"
    assert m.downtime_ms > 9000                # ~ a pass of 1 GiB at 100 MiB/s


def test_paused_guest_refuses_post_copy_and_abort_cancels():
    m = _model(guest_paused=True)
    with pytest.raises(fake_live_model.MigrationStateError):
        m.start_postcopy()
    m.abort()
    assert m.status == "cancelled"
    assert m.stats().job_type == live_job.JOB_CANCELLED
    with pytest.raises(fake_live_model.MigrationStateError):
        m.abort()


def test_block_migration_copies_the_disk_first():
    m = _model(disk_bytes=500 * MiB)
    m.advance(4)
    s = m.stats()
    assert s.memory_iteration == 0 and s.disk_processed == 400 * MiB
    assert s.data_total == GiB + 500 * MiB
    m.advance(2)
    assert m.stats().memory_iteration == 1 and m.stats().disk_remaining == 0


def test_bandwidth_change_takes_effect():
    m = _model()
    m.set_bandwidth(50 * MiB)
    m.advance(2)
    assert m.stats().memory_processed == 100 * MiB
    with pytest.raises(ValueError):
        m.set_bandwidth(0)


def test_unpause_resumes_dirtying():
    m = _model(dirty_rate_bps=120 * MiB)
    m.pause()
    m.unpause()
    assert not m.paused
    m.set_max_downtime(1)
    m.advance(10.24 + 0.01)
    assert m.stats().memory_dirty_rate == pytest.approx(100 * MiB)  # W-bound
