"""Dependencies point one way: down the layers below, never up or sideways.

    accounts                            the one account model, organisations, the permission table, audit
    passwords                           imports accounts
    printing, provisioning, managing    import accounts and passwords; never one another
    sso                                 imports accounts (single sign-on needs no other feature)

So `accounts` imports no feature app, not even inside a function, and a feature that needs two features (an
account made with a password) sits above both. Every import in every module is read from its syntax tree, so
an import inside a function counts, and so does a dotted module path in a string (`include("x.urls")`,
`import_module`; an audit code such as "provisioning.upload" names no module and does not count). Templates
are dependencies too: a template in `templates/accounts/` includes, extends and loads only accounts' own
templates and tags, and links only to URL names served by accounts' views; where a
feature app adds to an accounts page (the actions on an account's page, the buttons above View Users) the page
includes a slot at the root of `templates/` (`_account_actions.html`, `_list_actions.html`...), which is
project wiring like `ump/urls.py`, and the slot includes the feature apps' partials.

In `accounts` and `managing` every import sits at the top of its module; the exceptions are listed in
FUNCTION_IMPORTS, each with its reason.
"""

import ast
import re
from pathlib import Path

import pytest
from django.template import engines
from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parent.parent
FEATURE_APPS = ("passwords", "printing", "provisioning", "managing", "mfa", "sso")
# app -> the feature apps it may import (accounts, Django and libraries are always allowed)
MAY_IMPORT = {
    "accounts": set(),
    "passwords": set(),
    "printing": {"passwords"},
    "provisioning": {"passwords"},
    "managing": {"passwords"},
    "sso": set(),
    "mfa": set(),
}
# (module, function) -> why the import cannot sit at the top of the module
FUNCTION_IMPORTS = {
    ("accounts/apps.py", "ready"): "Django's place for what needs the app registry loaded",
    ("accounts/models.py", "restrict"): "accounts.permissions builds its table from the models",
    ("managing/services.py", "_enqueue_account_request"): "managing.tasks imports the services",
}
DOTTED = re.compile(rf"^({'|'.join(FEATURE_APPS)})\.\w")
TAG = re.compile(r"{%\s*(include|extends|load|url)\s+(.*?)%}")


def python_files(app):
    return sorted((ROOT / app).rglob("*.py"))


def imported_modules(tree):
    """(line, module) for every import anywhere in the tree, and every string naming a feature app's module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and names_a_module(node.value):
            yield node.lineno, node.value


def names_a_module(text):
    """A string naming a feature app's module ("provisioning.tasks.x"), not an audit code ("provisioning.run")."""
    if not DOTTED.match(text):
        return False
    app, module = text.split(".")[:2]
    return (ROOT / app / f"{module}.py").exists() or (ROOT / app / module).is_dir()


def app_of(module):
    return module.split(".")[0]


@pytest.mark.parametrize("app", sorted(MAY_IMPORT))
def test_each_app_imports_only_the_feature_apps_below_it(app):
    breaches = []
    for path in python_files(app):
        for line, module in imported_modules(ast.parse(path.read_text(), str(path))):
            other = app_of(module)
            if other in FEATURE_APPS and other != app and other not in MAY_IMPORT[app]:
                breaches.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not breaches, f"{app} may import these feature apps only: {sorted(MAY_IMPORT[app])}\n" + "\n".join(
        breaches
    )


@pytest.mark.parametrize("app", ["accounts", "managing"])
def test_imports_sit_at_the_top_of_their_modules(app):
    found = set()
    for path in python_files(app):
        if "migrations" in path.parts:
            continue
        for function in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if any(isinstance(node, ast.Import | ast.ImportFrom) for node in ast.walk(function)):
                found.add((str(path.relative_to(ROOT)), function.name))
    allowed = {key for key in FUNCTION_IMPORTS if key[0].startswith(f"{app}/")}
    assert found <= allowed, f"move these imports to the top of the module: {sorted(found - allowed)}"


def _view_modules():
    """Every URL name ('accounts:home') -> the module of the view it serves."""
    names = {}

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(
                    pattern.url_patterns,
                    f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace,
                )
            elif isinstance(pattern, URLPattern) and pattern.name:
                callback = getattr(pattern.callback, "view_class", pattern.callback)
                names[f"{namespace}{pattern.name}"] = callback.__module__

    walk(get_resolver().url_patterns, "")
    return names


def test_accounts_templates_use_no_feature_app():
    libraries = engines["django"].engine.libraries  # {% load %} name -> module
    views = _view_modules()
    breaches = []
    for path in sorted((ROOT / "templates" / "accounts").rglob("*.html")):
        for tag, arguments in TAG.findall(path.read_text()):
            words = arguments.split()
            if tag in ("include", "extends"):
                used = [words[0].strip("\"'").split("/")[0]]
            elif tag == "load":
                used = [libraries[name] for name in words if name in libraries]
            else:
                used = [views[words[0].strip("\"'")]]
            breaches += [
                f"{path.relative_to(ROOT)}: {tag} {arguments}" for u in used if app_of(u) in FEATURE_APPS
            ]
    assert not breaches, "templates in accounts/ use a feature app:\n" + "\n".join(breaches)


def test_the_checks_see_a_breach():
    """The readers above find an import inside a function, a dotted path in a string and a template's include."""
    source = "def f():\n    from managing.services import x\n    return include('printing.urls')\n"
    assert [module for _line, module in imported_modules(ast.parse(source))] == [
        "managing.services",
        "printing.urls",
    ]
    assert TAG.findall('{% include "passwords/_scripts.html" %}') == [
        ("include", '"passwords/_scripts.html" ')
    ]
