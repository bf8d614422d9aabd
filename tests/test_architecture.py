"""The layers of docs/architecture.md, held: each part of the package imports only what it may."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "booking"

# Part of the package → the parts it may import (besides itself). Kept in step
# with the table of docs/architecture.md.
MAY_IMPORT: dict[str, set[str]] = {
    "localtime": set(),
    "rules": {"localtime"},
    "clock": set(),
    "config": set(),
    "extensions": set(),
    "models": {"extensions", "rules"},
    "database": {"extensions"},
    "permissions": {"models"},
    "security": {"models", "extensions"},
    "services": {
        "rules",
        "localtime",
        "models",
        "permissions",
        "database",
        "extensions",
        "security",
    },
    "presentation": {"models", "rules", "localtime", "permissions", "services", "extensions"},
    "forms": {"models", "permissions", "presentation", "security"},
    "demo": {"services", "models", "rules", "localtime", "extensions"},
    "notifications": {
        "models",
        "services",
        "presentation",
        "database",
        "extensions",
        "security",
        "clock",
    },
    "views": {
        "localtime",
        "services",
        "forms",
        "presentation",
        "permissions",
        "models",
        "security",
        "extensions",
        "clock",
        "notifications",
    },
    "cli": {"services", "demo", "models", "extensions", "clock", "notifications"},
}
# Libraries of the web layers: the rules, permissions and use cases run
# without a request (tests call them directly, and so do the command line and
# background jobs).
WEB_ONLY = {"flask", "flask_login", "flask_wtf", "wtforms", "werkzeug"}
NO_WEB = {"rules", "permissions", "services"}


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """The top-level names imported: parts of the package, or outside libraries."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    depth = len(path.relative_to(PACKAGE).parts) - 1  # folders below booking/
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name.split(".")
                found.add(name[1] if name[0] == "booking" and len(name) > 1 else name[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                name = (node.module or "").split(".")
                if name[0] == "booking":
                    found.update([name[1]] if len(name) > 1 else [a.name for a in node.names])
                else:
                    found.add(name[0])
            elif node.level > depth:  # reaches booking/ itself
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            else:  # within the same part
                found.add(_part(path))
    return found


def test_each_part_imports_only_the_layers_below_it() -> None:
    parts = set(MAY_IMPORT) | {"__init__"}
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        part = _part(path)
        if part == "__init__":
            continue  # the application factory assembles everything
        assert part in MAY_IMPORT, f"{path}: a new part of the package? Add it to the layers."
        imported = _imports(path)
        for name in imported & parts - {part}:
            if name not in MAY_IMPORT[part]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
        if part in NO_WEB:
            for name in imported & WEB_ONLY:
                wrong.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert wrong == []


# The wings of services/, each a capability: what each may use of the others (and of the
# shared modules at services/'s root: errors, the audit log, the outbox). Nothing
# reaches up: the booking engine uses no other wing.
WINGS: dict[str, set[str]] = {
    "booking": set(),
    "accounts": {"booking"},
    "venues": {"booking", "accounts"},
    "availability": {"booking", "venues"},
    "reporting": set(),
}


def test_each_wing_of_the_services_uses_only_the_wings_below_it() -> None:
    services = PACKAGE / "services"
    assert {p.name for p in services.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(
        WINGS
    )
    wrong = []
    for path in sorted(services.rglob("*.py")):
        relative = path.relative_to(services)
        if relative == Path("__init__.py"):
            continue  # the use cases views call, gathered from every wing
        wing = relative.parts[0] if len(relative.parts) > 1 else None
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            # Relative to services/: the level that reaches it from this file.
            up = node.level - (len(relative.parts) - 1)
            if up != 1:
                continue
            names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
            for name in names:
                if name in WINGS and name != wing and name not in WINGS.get(wing or "", set()):
                    wrong.append(f"{path.relative_to(PACKAGE.parent)} imports the {name} wing")
    assert wrong == []


def test_views_do_not_import_the_rules() -> None:
    for path in (PACKAGE / "views").glob("*.py"):
        assert "rules" not in _imports(path), path


def test_few_modules_lie_loose_in_the_package() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(loose) <= 10, loose
