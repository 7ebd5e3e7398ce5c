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


def assert_sample_current(tmp_path, generator, generator_conf, sample, regenerate, why=""):
    """Run ``python <generator...> --config-file generator_conf`` into
    tmp_path: its output is the committed ``sample`` to the byte."""
    generated = tmp_path / sample.name
    proc = subprocess.run(
        [sys.executable, *generator,
         "--config-file", str(generator_conf), "--output-file", str(generated)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sample.is_file(), f"{sample} is missing: run {regenerate}"
    assert generated.read_bytes() == sample.read_bytes(), (
        f"{sample.relative_to(REPO)} is stale{why}: run {regenerate}")


def test_sample_config_is_current(tmp_path):
    assert_sample_current(tmp_path, ["-m", "oslo_config.generator"], GENERATOR_CONF, SAMPLE,
                          REGENERATE)
