"""The committed sample config is exactly what the generator produces now."""

import pathlib
import subprocess
import sys

import vmctl

REPO = pathlib.Path(vmctl.__file__).resolve().parent.parent
GENERATOR_CONF = REPO / "etc" / "vmctl" / "vmctl-config-generator.conf"
SAMPLE = REPO / "etc" / "vmctl" / "vmctl.conf.sample"
REGENERATE = ("oslo-config-generator --config-file "
              "etc/vmctl/vmctl-config-generator.conf")


def test_sample_config_is_current(tmp_path):
    generated = tmp_path / "vmctl.conf.sample"
    proc = subprocess.run(
        [sys.executable, "-m", "oslo_config.generator",
         "--config-file", str(GENERATOR_CONF), "--output-file", str(generated)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert SAMPLE.is_file(), f"{SAMPLE} is missing: run {REGENERATE}"
    assert generated.read_bytes() == SAMPLE.read_bytes(), (
        f"{SAMPLE.relative_to(REPO)} is stale: run {REGENERATE}")
