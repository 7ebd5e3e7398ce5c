"""The virt layer stands below the compute agent that drives it.

- ``vmctl/virt`` never imports ``vmctl/compute``: the drivers hand the
  compute a job (``vmctl.virt.live_job``), they know nothing of its monitor.
- The production migration monitor never imports the policy simulator or a
  fake driver module: it applies its decisions itself (``actions.apply``).
- No ``*Mixin`` classes in ``vmctl/virt``: a driver delegates to objects
  that get their collaborators at construction.

Every module is parsed (not imported) and its vmctl imports are followed
transitively, imports inside functions included.
"""

import ast
import pathlib

from tests.fixtures import imports as module_imports
import vmctl

PACKAGE_DIR = pathlib.Path(vmctl.__file__).parent


def _module_file(module, package_dir):
    base = package_dir.joinpath(*module.split(".")[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path, package_dir):
    relative = path.relative_to(package_dir.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _with_parents(module):
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _chain_to(start, forbidden, package_dir):
    """The import chain from ``start`` to a module under one of ``forbidden``."""
    def bad(name):
        return any(name == f or name.startswith(f + ".") for f in forbidden)
    chains = {name: [name] for name in _with_parents(start)}
    queue = list(chains)
    while queue:
        module = queue.pop(0)
        path = _module_file(module, package_dir)
        if path is None:
            continue
        for imported in sorted(module_imports.imports(module, path)):
            for name in _with_parents(imported):
                if name in chains:
                    continue
                chains[name] = chains[module] + [name]
                if bad(name):
                    return chains[name]
                if name.startswith("vmctl."):
                    queue.append(name)
    return None


def _violations(package, forbidden, package_dir=PACKAGE_DIR):
    bad = {}
    for path in sorted((package_dir / package).rglob("*.py")):
        start = _module_name(path, package_dir)
        chain = _chain_to(start, forbidden, package_dir)
        if chain:
            bad[start] = chain
    return bad


def _report(bad):
    return "\n".join(f"  {m}: {' -> '.join(c)}" for m, c in sorted(bad.items()))


def test_virt_never_imports_compute():
    bad = _violations("virt", ("vmctl.compute",))
    assert bad == {}, "virt modules reaching vmctl.compute:\n" + _report(bad)


def test_the_monitor_never_imports_the_simulator_or_a_fake_driver():
    forbidden = ("vmctl.compute.live_migration.simulate", "vmctl.virt.fake",
                 "vmctl.virt.fake_live_job", "vmctl.virt.fake_live_model")
    chain = _chain_to("vmctl.compute.live_migration.monitor", forbidden, PACKAGE_DIR)
    assert chain is None, "the monitor reaches " + " -> ".join(chain)


def test_the_check_sees_function_level_and_transitive_imports(tmp_path):
    pkg = tmp_path / "vmctl"
    for name, source in {
        "__init__.py": "",
        "virt/__init__.py": "",
        "virt/driver.py": "from vmctl.virt import helper\n",
        "virt/helper.py": "def f():\n    from vmctl.compute import stats\n",
        "compute/__init__.py": "",
        "compute/stats.py": "",
    }.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(source)
    bad = _violations("virt", ("vmctl.compute",), package_dir=pkg)
    assert bad["vmctl.virt.driver"] == ["vmctl.virt.driver", "vmctl.virt.helper",
                                        "vmctl.compute"]
    assert set(bad) == {"vmctl.virt.driver", "vmctl.virt.helper"}


def _mixins(package_dir=PACKAGE_DIR):
    found = []
    for path in sorted((package_dir / "virt").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Mixin"):
                found.append(f"{path.relative_to(package_dir.parent)}: {node.name}")
    return found


def test_no_mixin_classes_in_virt():
    assert _mixins() == []


def test_the_mixin_check_can_fail(tmp_path):
    (tmp_path / "vmctl" / "virt").mkdir(parents=True)
    (tmp_path / "vmctl" / "virt" / "d.py").write_text("class LiveMigrationMixin:\n    pass\n")
    assert _mixins(tmp_path / "vmctl") == ["vmctl/virt/d.py: LiveMigrationMixin"]


def _function_level_vmctl_imports(package_dir=PACKAGE_DIR):
    """vmctl imports inside functions: the sign of a dodged import cycle.
    (Optional third-party modules, libvirt and cryptography, may be imported
    where they are used.)"""
    found = []
    for path in sorted((package_dir / "virt").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or "."] if isinstance(node, ast.ImportFrom)
                         else [])
                if any(n == "vmctl" or n.startswith(("vmctl.", ".")) for n in names):
                    found.append(f"{path.relative_to(package_dir.parent)}:{node.lineno}")
    return found


def test_no_function_level_vmctl_imports_in_virt():
    assert _function_level_vmctl_imports() == []


def test_the_function_level_import_check_can_fail(tmp_path):
    (tmp_path / "vmctl" / "virt").mkdir(parents=True)
    (tmp_path / "vmctl" / "virt" / "d.py").write_text(
        "def f():\n    import libvirt\n\n\ndef g():\n    from vmctl.virt import fake\n")
    assert _function_level_vmctl_imports(tmp_path / "vmctl") == ["vmctl/virt/d.py:6"]
