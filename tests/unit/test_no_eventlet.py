"""vmctl runs on native threads: no vmctl process may load eventlet.

Each check runs in a fresh interpreter, because this test process may
already hold modules imported by other tests.
"""

import json
import os
import pathlib
import subprocess
import sys

import vmctl

# Alembic scripts: loaded by alembic at migration time, not importable modules.
NOT_MODULES = ("vmctl.db.migrations.",)

IMPORT_EVERYTHING = """
import json, pkgutil, sys, traceback
import vmctl, vmctl.cmd
errors = {}
for info in pkgutil.walk_packages(vmctl.__path__, "vmctl."):
    if info.name.startswith(%(skip)r):
        continue
    try:
        __import__(info.name)
    except BaseException:
        errors[info.name] = traceback.format_exc(limit=3)
print(json.dumps({
    "eventlet": repr(sys.modules.get("eventlet")),
    "eventlet_submodules": sorted(m for m in sys.modules
                                  if m.startswith("eventlet.") and sys.modules[m]),
    "errors": errors,
}))
"""

# What a console script does for "--help": import the module, run main().
RUN_HELP = """
import json, sys
sys.argv = [%(prog)r, "--help"]
module = __import__(%(module)r, fromlist=["main"])
exit_code = None
if hasattr(module, "main"):
    try:
        module.main()
    except SystemExit as exc:
        exit_code = exc.code
print(json.dumps({"eventlet": repr(sys.modules.get("eventlet")),
                  "has_main": hasattr(module, "main"), "exit_code": exit_code}))
"""


def _run(code):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            cwd=pathlib.Path(vmctl.__file__).parent.parent)


def _result(proc, timeout=120):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"interpreter still running after {timeout}s: {proc.args[-1]}")
    assert proc.returncode == 0, f"interpreter failed:\n{err[-3000:]}"
    return json.loads(out.strip().splitlines()[-1])


def _cmd_modules():
    cmd_dir = pathlib.Path(vmctl.__file__).parent / "cmd"
    return sorted(f"vmctl.cmd.{path.stem}" for path in cmd_dir.glob("*.py")
                  if path.stem not in ("__init__", "common"))


def test_importing_every_module_loads_no_eventlet():
    result = _result(_run(IMPORT_EVERYTHING % {"skip": NOT_MODULES}))
    assert result["errors"] == {}, "modules that fail to import:\n" + "\n".join(
        f"{name}:\n{tb}" for name, tb in result["errors"].items())
    assert result["eventlet"] == "None"
    assert result["eventlet_submodules"] == []


def test_every_command_help_loads_no_eventlet():
    modules = _cmd_modules()
    assert "vmctl.cmd.manage" in modules
    procs = {module: _run(RUN_HELP % {"module": module,
                                      "prog": module.rsplit(".", 1)[-1]})
             for module in modules}
    results = {module: _result(proc) for module, proc in procs.items()}
    loaded = {module: r["eventlet"] for module, r in results.items() if r["eventlet"] != "None"}
    assert loaded == {}, f"eventlet loaded by: {loaded}"
    bad_help = {module: r["exit_code"] for module, r in results.items()
                if r["has_main"] and r["exit_code"] != 0}
    assert bad_help == {}, f"'--help' did not exit 0: {bad_help}"
