"""Agents never touch the database.

Every module under vmctl/compute and vmctl/virt is parsed (not imported) and
its vmctl-internal imports are followed transitively, including the parent
packages an import runs; none may reach vmctl.db, sqlalchemy or alembic.
Imports inside functions count too: a lazy import still runs in the agent.
"""

import pathlib

from tests.fixtures import imports as module_imports
import vmctl

PACKAGE_DIR = pathlib.Path(vmctl.__file__).parent
AGENT_PACKAGES = ("compute", "virt")
FORBIDDEN = ("vmctl.db", "sqlalchemy", "alembic")


def _module_file(module):
    """The source file of a vmctl module, or None if there is none."""
    parts = module.split(".")[1:]
    base = PACKAGE_DIR.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path):
    relative = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _with_parents(module):
    """``a.b.c`` -> a, a.b, a.b.c: importing a module runs its packages."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _forbidden(module):
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def _violations():
    """{agent module: chain of imports that ends in a forbidden module}."""
    roots = sorted(path for package in AGENT_PACKAGES
                   for path in (PACKAGE_DIR / package).rglob("*.py"))
    bad = {}
    for root in roots:
        start = _module_name(root)
        chains = {name: [name] for name in _with_parents(start)}
        queue = list(chains)
        while queue and start not in bad:
            module = queue.pop(0)
            path = _module_file(module)
            if path is None:
                continue
            for imported in sorted(module_imports.imports(module, path)):
                for name in _with_parents(imported):
                    if name in chains:
                        continue
                    chains[name] = chains[module] + [name]
                    if _forbidden(name):
                        bad[start] = chains[name]
                        break
                    if name.startswith("vmctl."):
                        queue.append(name)
    return bad


def test_agents_do_not_import_the_database():
    assert (PACKAGE_DIR / "compute").is_dir() and (PACKAGE_DIR / "virt").is_dir()
    bad = _violations()
    assert bad == {}, "agent modules reaching the database:\n" + "\n".join(
        f"  {module}: {' -> '.join(chain)}" for module, chain in sorted(bad.items()))


def test_the_check_sees_transitive_imports(tmp_path, monkeypatch):
    """A chain agent -> helper -> vmctl.db is caught (the check can fail)."""
    pkg = tmp_path / "vmctl"
    for name, source in {
        "__init__.py": "",
        "compute/__init__.py": "",
        "compute/manager.py": "from ..objects import helper\n",
        "virt/__init__.py": "",
        "objects/__init__.py": "",
        "objects/helper.py": "def f():\n    import vmctl.db.api\n",
    }.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(source)
    monkeypatch.setitem(globals(), "PACKAGE_DIR", pkg)
    assert _violations() == {"vmctl.compute.manager": [
        "vmctl.compute.manager", "vmctl.objects.helper", "vmctl.db"]}
