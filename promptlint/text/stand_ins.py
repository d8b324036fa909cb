"""Stand-ins for thinc's modules and for spacy.util while the blank pipeline is built from spaCy's
parts (text/nlp.py).

The spaCy modules the blank pipeline needs (the Vocab, the Tokenizer, the Doc, the Matchers)
import a few names from thinc (`get_array_module`, `get_current_ops`, `copy_array`, `Ops`,
`Floats2d`, ...) and from spacy.util, which imports thinc, confection, pydantic, catalogue,
packaging and wasabi at its top: ~0.4 s of imports per process for names the pipeline never calls.

- thinc: stand-ins for `thinc.api`, `thinc.util`, `thinc.types` and `thinc.backends` hand out a
  lazy name for anything asked; its first use imports the real thinc (all stand-ins leave
  sys.modules first, so thinc's own modules only ever see each other) and forwards to the real
  object. Two names are called while the pipeline is built or used: `get_current_ops()` (a new
  Vectors table makes its empty array with `ops.xp`: numpy, as thinc's NumpyOps has it) and
  `get_array_module()` (numpy for a numpy array, as thinc's); anything else of them goes to thinc.
- spacy.util: spaCy's own source file, compiled without its imports of those packages and without
  its `registry` class (a subclass of thinc's); the names they bind are lazy until first used, and
  that first use runs exactly the statements left out, in the module's own namespace, so from then
  on spacy.util is the real module. Registrations made meanwhile (`@util.registry.vectors(...)`)
  are kept and made on the real registry then.

Only for the spaCy and thinc versions this was checked on (nlp.py, tests/test_nlp_parts.py).
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import sys
import threading
import types
from typing import Any, Callable

THINC_VERSIONS = ("8.3.",)
THINC_MODULES = ("thinc.api", "thinc.util", "thinc.types", "thinc.backends")
# What spacy/util.py imports that the blank pipeline does not need at import time.
_HEAVY = frozenset({"thinc", "catalogue", "confection", "pydantic", "packaging", "wasabi"})

_lock = threading.RLock()  # re-entrant: resolving a name may import modules that resolve others


def is_stand_in(module: object) -> bool:
    return getattr(module, "_promptlint_stand_in", False)


class _Lazy:
    """A name of a module not imported yet: the real object on first use, which is then forwarded to."""

    __slots__ = ("_resolve", "_label", "_value")

    def __init__(self, resolve: Callable[[], Any], label: str) -> None:
        object.__setattr__(self, "_resolve", resolve)
        object.__setattr__(self, "_label", label)

    def _real(self) -> Any:
        try:
            return object.__getattribute__(self, "_value")
        except AttributeError:
            value = object.__getattribute__(self, "_resolve")()
            object.__setattr__(self, "_value", value)
            return value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._real()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def __instancecheck__(self, obj: object) -> bool:
        return isinstance(obj, self._real())

    def __subclasscheck__(self, cls: type) -> bool:
        return issubclass(cls, self._real())

    def __getitem__(self, key: Any) -> Any:
        return self._real()[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._real()

    def __iter__(self) -> Any:
        return iter(self._real())

    def __len__(self) -> int:
        return len(self._real())

    def __repr__(self) -> str:
        return f"<not yet imported: {object.__getattribute__(self, '_label')}>"


# --- thinc ---------------------------------------------------------------------------------------

def thinc_version_ok() -> bool:
    """The installed thinc is one of THINC_VERSIONS, read from its about.py (importing thinc.about
    would run thinc/__init__, which imports all of it)."""
    import importlib.util

    if any(name in sys.modules for name in ("thinc", *THINC_MODULES)):
        return False  # imported already: nothing to save, and its modules must stay what they are
    try:
        spec = importlib.util.find_spec("thinc")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    try:
        with open(os.path.join(list(spec.submodule_search_locations)[0], "about.py"), encoding="utf-8") as fh:
            found = re.search(r'^__version__ = "([^"]+)"', fh.read(), re.M)
    except OSError:
        return False
    return found is not None and found.group(1).startswith(THINC_VERSIONS)


def real_thinc(module: str) -> types.ModuleType:
    """The real thinc module: every thinc stand-in leaves sys.modules first."""
    with _lock:
        remove_thinc()
        return importlib.import_module(module)


def remove_thinc() -> None:
    with _lock:
        for name in THINC_MODULES:
            if is_stand_in(sys.modules.get(name)):
                del sys.modules[name]


class _CurrentOps:
    """thinc's current ops as Vectors asks for them while the pipeline is built: `.xp` is numpy
    (NumpyOps.xp); anything else is the real thinc's current ops."""

    @property
    def xp(self) -> Any:
        import numpy

        return numpy

    def __getattr__(self, name: str) -> Any:
        return getattr(real_thinc("thinc.backends").get_current_ops(), name)


_CURRENT_OPS = _CurrentOps()


def get_current_ops() -> Any:
    backends = sys.modules.get("thinc.backends")
    if backends is not None and not is_stand_in(backends):
        return backends.get_current_ops()  # thinc is imported: its own (maybe set by the user)
    return _CURRENT_OPS


def get_array_module(arr: Any) -> Any:
    import numpy

    if isinstance(arr, numpy.ndarray):
        return numpy
    return real_thinc("thinc.util").get_array_module(arr)


_LIGHT: dict[str, Callable[..., Any]] = {"get_current_ops": get_current_ops, "get_array_module": get_array_module}
# The light names, by the modules that define or re-export them in thinc.
_LIGHT_IN = {"thinc.api": ("get_current_ops", "get_array_module"), "thinc.backends": ("get_current_ops",), "thinc.util": ("get_array_module",)}


def _thinc_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module._promptlint_stand_in = True  # type: ignore[attr-defined]
    for light in _LIGHT_IN.get(name, ()):
        setattr(module, light, _LIGHT[light])

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)  # the import system asks for __path__ and the like
        value = _Lazy(lambda: getattr(real_thinc(name), attr), f"{name}.{attr}")
        setattr(module, attr, value)
        return value

    module.__getattr__ = __getattr__  # type: ignore[attr-defined]
    return module


def install_thinc() -> bool:
    """Put the thinc stand-ins in sys.modules (False, and nothing done, if thinc is not a version
    they were checked on or is imported already)."""
    with _lock:
        if not thinc_version_ok():
            return False
        for name in THINC_MODULES:
            sys.modules[name] = _thinc_module(name)
        return True


# --- spacy.util ------------------------------------------------------------------------------------

def _heavy(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in _HEAVY for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or "").split(".")[0] in _HEAVY
    return False


def _bound(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.ClassDef):
        return [node.name]
    assert isinstance(node, (ast.Import, ast.ImportFrom))
    names = []
    for alias in node.names:
        if alias.name == "*":
            raise ValueError("a star import")
        names.append(alias.asname or (alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name))
    return names


class _PendingRegistry:
    """`registry.<name>` of the spacy.util stand-in: a registration used as a decorator is kept
    (and made on the real registry when spacy.util becomes real); anything else makes it real."""

    def __init__(self, util: "_UtilStandIn", name: str) -> None:
        self._util = util
        self._name = name

    def _real(self) -> Any:
        return getattr(self._util.make_real().module.registry, self._name)

    def __call__(self, func_name: str, func: Any = None) -> Any:
        if self._util.real:
            return self._real()(func_name, func=func)

        def register(f: Any) -> Any:
            if self._util.real:
                return self._real()(func_name, func=f)
            self._util.pending.append((self._name, func_name, f))
            return f  # what catalogue's registration decorator returns

        return register if func is None else register(func)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def __contains__(self, key: Any) -> bool:
        return key in self._real()


class _RegistryStandIn:
    def __init__(self, util: "_UtilStandIn") -> None:
        self._util = util

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or self._util.real:
            return getattr(self._util.make_real().module.registry, name)
        return _PendingRegistry(self._util, name)


class _UtilStandIn:
    def __init__(self, module: types.ModuleType, left_out: ast.Module, filename: str) -> None:
        self.module = module
        self.left_out = left_out
        self.filename = filename
        self.pending: list[tuple[str, str, Any]] = []
        self.real = False

    def make_real(self) -> "_UtilStandIn":
        """Run the statements left out, in the module's namespace, and the kept registrations."""
        with _lock:
            if self.real:
                return self
            remove_thinc()  # the real imports below must get the real thinc
            exec(compile(self.left_out, self.filename, "exec"), self.module.__dict__)  # noqa: S102 - spaCy's own source
            self.real = True
            self.module._promptlint_stand_in = False  # type: ignore[attr-defined]
            pending, self.pending = self.pending, []
            for registry_name, func_name, func in pending:
                getattr(self.module.registry, registry_name)(func_name, func=func)
            return self


def install_util(package: types.ModuleType) -> _UtilStandIn:
    """spacy.util from spaCy's source without its heavy imports (see above), in sys.modules and on
    the (stand-in) `spacy` package; raises on anything unexpected (the caller takes the usual path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("spacy.util", os.path.join(package.__path__[0], "util.py"))
    if spec is None or spec.origin is None:
        raise ImportError("spacy.util")
    with open(spec.origin, encoding="utf-8") as fh:
        source = fh.read()
    tree = ast.parse(source, spec.origin)
    kept: list[ast.stmt] = []
    left_out: list[ast.stmt] = []
    for node in tree.body:
        if _heavy(node) or (isinstance(node, ast.ClassDef) and node.name == "registry"):
            left_out.append(node)
        else:
            kept.append(node)
    if not any(isinstance(n, ast.ClassDef) for n in left_out):
        raise ValueError("no registry class in spacy/util.py")
    module = importlib.util.module_from_spec(spec)
    module._promptlint_stand_in = True  # type: ignore[attr-defined]
    stand_in = _UtilStandIn(module, ast.Module(body=left_out, type_ignores=[]), spec.origin)
    module._promptlint_util = stand_in  # type: ignore[attr-defined]
    for node in left_out:
        for name in _bound(node):
            if name == "registry":
                module.registry = _RegistryStandIn(stand_in)  # type: ignore[attr-defined]
            else:
                setattr(module, name, _Lazy(lambda name=name: getattr(stand_in.make_real().module, name), f"spacy.util.{name}"))
    code = compile(ast.Module(body=kept, type_ignores=[]), spec.origin, "exec")
    sys.modules["spacy.util"] = module
    package.util = module  # type: ignore[attr-defined]  (what an import sets on the parent)
    try:
        exec(code, module.__dict__)  # noqa: S102 - spaCy's own source
    except BaseException:
        if sys.modules.get("spacy.util") is module:
            del sys.modules["spacy.util"]
        raise
    return stand_in


def util_stand_in() -> _UtilStandIn | None:
    return getattr(sys.modules.get("spacy.util"), "_promptlint_util", None)
