"""What generated Python may import, call and touch: an AST policy over untrusted code.

Generated functions may import only modules on an allow-list, which a spec extends
with ``allowed_imports``. Some modules no spec can allow (:data:`BANNED_MODULES`):
they run processes, open network connections, load code from data, reach native
memory or the interpreter's internals. Calls that run strings as code or start
processes, and the attribute tricks that climb from any object to the builtins, are
refused wherever they appear. Names are resolved through the module's imports, so
``from os import system`` and ``import os as o`` hide nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from airflow_llm.validate.findings import Finding

ALLOWED_IMPORTS = frozenset(
    {
        "__future__", "collections", "csv", "dataclasses", "datetime", "decimal", "enum",
        "functools", "gzip", "hashlib", "io", "itertools", "json", "logging", "math",
        "operator", "pathlib", "random", "re", "statistics", "string", "tempfile",
        "textwrap", "time", "typing", "uuid", "zoneinfo",
        "airflow", "duckdb", "great_expectations", "numpy", "pandas", "pyarrow", "yaml",
    }
)  # fmt: skip
"""Modules (and their submodules) generated code may import; a spec adds more."""

_BANNED_BY_REASON = {
    "it runs other processes": (
        "subprocess", "pty", "pexpect", "multiprocessing", "airflow.operators.bash",
        "airflow.providers.standard.operators.bash", "airflow.providers.standard.hooks.subprocess",
        "airflow.providers.ssh",
    ),
    "it opens network connections": (
        "socket", "socketserver", "ssl", "urllib", "urllib3", "http", "requests", "httpx",
        "aiohttp", "ftplib", "smtplib", "telnetlib", "xmlrpc", "paramiko",
    ),
    "it loads code from data": (
        "pickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "code", "codeop",
        "runpy",
    ),
    "it reaches native memory": ("ctypes", "cffi"),
    "it reaches the interpreter's internals": ("builtins", "sys", "gc", "inspect"),
}  # fmt: skip
BANNED_MODULES = {
    module: reason for reason, modules in _BANNED_BY_REASON.items() for module in modules
}
"""Modules (and their submodules) no spec can allow, with the reason."""

FORBIDDEN_REFERENCES = (
    "eval", "exec", "compile", "__import__", "breakpoint", "input", "globals", "locals", "vars",
    "os.system", "os.popen", "os.exec*", "os.spawn*", "os.posix_spawn*", "os.fork*", "os.kill*",
    "os.environ*", "os.getenv*", "os.putenv", "os.unsetenv", "os.set*id", "os.startfile",
    "importlib.__import__", "importlib.reload", "importlib.util.*", "importlib.machinery.*",
    "asyncio.create_subprocess_*", "asyncio.open_*connection", "asyncio.start_*server",
    "yaml.load", "yaml.load_all", "yaml.unsafe_load*", "yaml.full_load*", "pandas.read_pickle",
)  # fmt: skip
"""Names (shell-style patterns, resolved through imports) generated code may not use."""

FORBIDDEN_ATTRIBUTES = frozenset(
    {
        "__builtins__", "__globals__", "__subclasses__", "__code__", "__closure__", "__bases__",
        "__base__", "__mro__", "__dict__", "__getattribute__", "__loader__", "__spec__",
        "__reduce__", "__reduce_ex__", "f_globals", "f_locals", "f_builtins", "f_back",
        "gi_frame", "cr_frame", "ag_frame", "tb_frame",
    }
)  # fmt: skip
"""Attributes and names (or strings naming them) that lead from any object to the builtins."""

_DYNAMIC_ATTRIBUTE_CALLS = frozenset({"getattr", "setattr", "delattr"})


def banned_reason(module: str) -> str | None:
    """Why ``module`` (or a package it belongs to) can never be imported; None if it can."""
    return next((BANNED_MODULES[p] for p in _packages(module) if p in BANNED_MODULES), None)


def is_allowed_import(module: str, extra: Collection[str] = ()) -> bool:
    """Whether generated code may import ``module`` when a spec allows ``extra`` modules."""
    return banned_reason(module) is None and any(
        package in ALLOWED_IMPORTS or package in extra for package in _packages(module)
    )


def policy_findings(
    source: str, filename: str, extra_imports: Collection[str] = ()
) -> list[Finding]:
    """Every import, name, attribute and call of ``source`` that the policy refuses."""
    tree = ast.parse(source)
    imported = _imported_names(tree)
    context = _Context(imported, _bound_names(tree) - set(imported), extra_imports)
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    findings = set()
    for node in ast.walk(tree):
        for rule, message in _node_problems(node, context, id(node) in inner):
            findings.add(Finding(filename, getattr(node, "lineno", None), rule, message))
    return sorted(findings, key=lambda finding: (finding.line or 0, finding.rule, finding.message))


@dataclass(frozen=True)
class _Context:
    imported: dict[str, str]
    """Local name -> the dotted module or attribute it was imported as."""
    bound: set[str]
    """Names the module binds itself (not by import): they shadow builtins of that name."""
    extra_imports: Collection[str]


def _node_problems(node: ast.AST, context: _Context, inner: bool) -> Iterator[tuple[str, str]]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield from _import_problems(node, context.extra_imports)
    elif isinstance(node, ast.Call):
        yield from _call_problems(node, context)
    elif isinstance(node, ast.Constant) and node.value in FORBIDDEN_ATTRIBUTES:
        yield "policy.attribute", f"the string {node.value!r} names a forbidden attribute"
    if isinstance(node, ast.Name | ast.Attribute):
        touched = node.attr if isinstance(node, ast.Attribute) else node.id
        if touched in FORBIDDEN_ATTRIBUTES:
            yield "policy.attribute", f"use of {touched} is not allowed"
        name = _resolved(node, context.imported)
        if not inner and name.split(".")[0] not in context.bound and _is_forbidden(name):
            yield "policy.call", f"use of {name} is not allowed"


def _is_forbidden(name: str) -> bool:
    """Whether ``name`` or a name it is an attribute of matches :data:`FORBIDDEN_REFERENCES`."""
    return any(fnmatchcase(part, p) for part in _packages(name) for p in FORBIDDEN_REFERENCES)


def _import_problems(
    node: ast.Import | ast.ImportFrom, extra: Collection[str]
) -> Iterator[tuple[str, str]]:
    if isinstance(node, ast.ImportFrom) and node.level:
        yield "policy.import", "relative imports are not allowed"
    elif isinstance(node, ast.Import):
        for alias in node.names:
            yield from _module_problems(alias.name, extra)
    elif any(alias.name == "*" for alias in node.names):
        yield "policy.import", f"'from {node.module} import *' hides what it binds"
    else:
        for alias in node.names:
            yield from _module_problems(f"{node.module}.{alias.name}", extra)


def _module_problems(module: str, extra: Collection[str]) -> Iterator[tuple[str, str]]:
    reason = banned_reason(module)
    if reason is not None:
        yield "policy.banned_import", f"import of {module!r} is never allowed: {reason}"
    elif not is_allowed_import(module, extra):
        yield (
            "policy.import",
            f"import of {module!r} is not allowed (not on the allow-list; a spec can extend "
            "it with allowed_imports)",
        )


def _call_problems(node: ast.Call, context: _Context) -> Iterator[tuple[str, str]]:
    """Imports and attributes whose name is only known at run time."""
    called = _resolved(node.func, context.imported)
    args = node.args
    name = args[1].value if len(args) > 1 and isinstance(args[1], ast.Constant) else None
    if called == "importlib.import_module":
        module = args[0].value if args and isinstance(args[0], ast.Constant) else None
        if isinstance(module, str):
            yield from _module_problems(module, context.extra_imports)
        else:
            yield "policy.dynamic_import", "importlib.import_module() of a computed name"
    elif called in _DYNAMIC_ATTRIBUTE_CALLS and args and isinstance(args[0], ast.Name):
        module = context.imported.get(args[0].id)
        if module is None:
            return
        if not isinstance(name, str):
            yield "policy.dynamic_import", f"{called}() of a computed name on {module}"
        elif _is_forbidden(f"{module}.{name}"):
            yield "policy.call", f"use of {module}.{name} is not allowed"


def _packages(module: str) -> list[str]:
    """``a.b.c`` -> ``["a", "a.b", "a.b.c"]``."""
    parts = module.split(".")
    return [".".join(parts[:index]) for index in range(1, len(parts) + 1)]


def _imported_names(tree: ast.AST) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _bound_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
    return bound


def _resolved(node: ast.expr, imported: dict[str, str]) -> str:
    """The dotted name ``node`` refers to, its first part resolved through the imports."""
    if isinstance(node, ast.Name):
        return imported.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = _resolved(node.value, imported)
        return f"{base}.{node.attr}" if base else ""
    return ""
