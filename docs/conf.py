"""Sphinx configuration for the flask-integrations documentation.

The build is nitpicky (``make docs`` runs ``sphinx-build -W -n``): every
reference must resolve. Our own names resolve against ``api.rst``; the few
names of other libraries that cannot (there is no intersphinx: the build
must work without network access) are listed in ``nitpick_ignore_regex``.
"""

from __future__ import annotations

import importlib
import os
import pathlib
import sys
import typing
from typing import Any

sys.path.insert(0, os.path.abspath(".."))

project = "flask-integrations"
copyright = "flask-integrations contributors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "furo"
html_title = "flask-integrations"
html_static_path = ["_static"]
exclude_patterns = ["_build", "_generated"]
nitpicky = True


def _evaluate_annotations() -> None:
    """Make every annotation of the package evaluable, for the build only.

    The package writes annotations as strings (``from __future__ import
    annotations``) and imports some names only for type checking, to avoid
    import cycles. Autodoc shows an annotation it cannot evaluate as a raw
    string that links nowhere. Once every module is loaded the type-checking
    imports cause no cycle, so they are run here. Autodoc also never
    evaluates the annotations of a class's ``__init__`` (it evaluates the
    class's own), so those are evaluated here too.
    """
    import ast
    import inspect
    import pkgutil

    import flask_integrations

    modules = [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(
            flask_integrations.__path__, "flask_integrations."
        )
        if ".migrations.versions" not in info.name
    ]
    for module in modules:
        source = pathlib.Path(module.__file__ or "").read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                code = compile(ast.Module(node.body, []), module.__file__ or "", "exec")
                exec(code, vars(module))
    for module in modules:
        for cls in vars(module).values():
            init = vars(cls).get("__init__") if inspect.isclass(cls) else None
            if inspect.isfunction(init) and cls.__module__ == module.__name__:
                init.__annotations__ = typing.get_type_hints(init)


_evaluate_annotations()

# Names of other libraries: without intersphinx (the build runs without
# network access) Sphinx cannot link them, so they are shown unlinked.
_THIRD_PARTY = (
    "alembic",
    "blinker",
    "click",
    "flask",
    "flask_sqlalchemy",
    "flask_wtf",
    "httpx",
    "jinja2",
    "markupsafe",
    "sqlalchemy",
    "werkzeug",
    "wtforms",
)
nitpick_ignore_regex = [
    # Modules of the libraries above, and the names they export.
    (r"py:.*", rf"({'|'.join(_THIRD_PARTY)})(\..+)?"),
    # The same names as they appear, unqualified, in our signatures.
    (r"py:.*", r"Flask|FlaskForm|Markup|Signal|Namespace|Session"),
    # The standard library (Python's own documentation is not linked either).
    (r"py:.*", r"(datetime|ipaddress|os|socket|ssl|typing)\..+"),
    # TypeVars of generic helpers: they stand for the caller's own type.
    (r"py:class", r"flask_integrations\.routing\.F"),
]


def _import(path: str) -> Any:
    """The object at a dotted path, or ``None``."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        return obj
    return None


def _documented_as(env: Any) -> dict[int, str]:
    """Every documented object of the package, by identity, to its name."""
    domain = env.get_domain("py")
    cached = getattr(env, "_fi_documented", None)
    if cached is not None and cached[0] == len(domain.objects):
        return cached[1]  # type: ignore[no-any-return]
    found: dict[int, str] = {}
    for name, entry in domain.objects.items():
        if name.startswith("flask_integrations") and not entry.aliased:
            obj = _import(name)
            if obj is not None and not isinstance(obj, (str, int, float)):
                found.setdefault(id(obj), name)
    env._fi_documented = (len(domain.objects), found)
    return found


def _resolve_reexported(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve ``flask_integrations.<module>.<Name>`` to the place the same
    object is documented, e.g. ``flask_integrations.<Name>``.

    Autodoc names classes by the module that defines them (in base classes,
    and in signatures it could evaluate), while ``api.rst`` documents them
    where users import them from.
    """
    from sphinx.util.nodes import make_refnode

    target = node.get("reftarget", "")
    if node.get("refdomain") != "py":
        return None
    if target.startswith("t.") and target[2:] in typing.__all__:
        # 'import typing as t': Sphinx knows 'typing.Any', not 't.Any'.
        return contnode
    if not target.startswith("flask_integrations."):
        return None
    obj = _import(target)
    if obj is None:
        return None
    name = _documented_as(env).get(id(obj))
    if name is None:
        return None
    entry = env.get_domain("py").objects[name]
    return make_refnode(
        app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name
    )


# Pages that moved into guides/: their old addresses keep working.
REDIRECTS = {
    "admin": "guides/admin",
    "authoring": "guides/authoring",
    "cli": "guides/cli",
    "contrib": "guides/contrib",
    "deliveries": "guides/deliveries",
    "deployment": "guides/migrations",
    "outbound": "guides/outbound",
}
# Sections of old pages that went to another page than the rest.
REDIRECT_ANCHORS = {
    "authoring": {
        "hooks": "guides/hooks",
        "changing-the-shape-of-settings": "guides/migrations",
    },
    "deliveries": {"rq-workers": "guides/rq"},
    "deployment": {"many-processes": "guides/workers"},
}

_REDIRECT_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Moved</title>
<meta http-equiv="refresh" content="0; url={target}">
<script>
var moved = {anchors};
var hash = location.hash.slice(1);
location.replace((moved[hash] || "{target}") + location.hash);
</script>
</head>
<body><p>This page moved to <a href="{target}">{target}</a>.</p></body>
</html>
"""


def _write_redirects(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import json

    suffix = app.builder.out_suffix
    for old, new in REDIRECTS.items():
        anchors = {
            anchor: page + suffix
            for anchor, page in REDIRECT_ANCHORS.get(old, {}).items()
        }
        page = _REDIRECT_PAGE.format(target=new + suffix, anchors=json.dumps(anchors))
        path = pathlib.Path(app.outdir, old + suffix)
        path.write_text(page, encoding="utf-8")


def setup(app: Any) -> None:
    app.connect("missing-reference", _resolve_reexported)
    app.connect("build-finished", _write_redirects)
    app.connect("builder-inited", write_benchmark_results)


def write_benchmark_results(app: Any) -> None:
    """Render the newest committed benchmark results into the file that
    performance.rst includes, so the page always shows what was recorded."""
    from benchmarks import report

    found = report.newest()
    if found is None:
        text = "No results are recorded yet: run ``make bench`` and commit them.\n"
    else:
        path, results = found
        text = (
            f"Recorded in ``benchmarks/results/{path.name}``.\n\n"
            + report.rst_table(results)
        )
    target = pathlib.Path(app.srcdir) / "_generated" / "benchmark-results.inc"
    target.parent.mkdir(exist_ok=True)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
