"""Safety checks for model bundles: zip hygiene, member checksums and the type allow-list.

A ``.nbrisk`` bundle is untrusted input. This module reads it without running anything from it: the zip
is read in memory (no extraction, no paths from the file are used), every member must be one of the
known names and match the SHA-256 recorded in ``manifest.json``, and the skops model is audited *before*
skops constructs anything: every node of its ``schema.json`` must name a type in :data:`ALLOWED` for the
loader it asks for. Only the audited names are passed to ``skops.io.loads(trusted=...)``; we never pass
skops' own list of "untrusted types found in the file" back to it (that trusts whatever the file asks for).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nbrisk.errors import ModelCompatibilityError
from nbrisk.modeling.trained import NBRISK_ESTIMATORS


class UnsafeBundleError(ModelCompatibilityError):
    """A bundle was refused for safety: pickle payload, disallowed type, tampered or unexpected member."""


MAX_MEMBER_BYTES = 512 * 1024 * 1024  # refuse zip bombs before decompressing

_PRIMITIVES = {f"builtins.{t}" for t in ("dict", "list", "str", "int", "float", "bool", "tuple", "set",
                                           "frozenset", "slice", "bytes", "bytearray", "NoneType", "complex")}
_NUMPY_SCALARS = {f"numpy.{t}" for t in ("float64", "float32", "float16", "int64", "int32", "int16", "int8",
                                         "uint64", "uint32", "uint16", "uint8", "bool", "bool_", "str_",
                                         "intc", "longlong")}
_NUMPY = {"numpy.ndarray", "numpy.dtype", "numpy.ma.core.MaskedArray"} | _NUMPY_SCALARS

# Estimators and transformers used by the recipes (sklearn's private module paths are part of the name).
_SKLEARN_OBJECTS = {
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.compose._column_transformer.make_column_selector",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.RobustScaler",
    "sklearn.preprocessing._data.MinMaxScaler",
    "sklearn.preprocessing._data.MaxAbsScaler",
    "sklearn.preprocessing._data.QuantileTransformer",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.impute._knn.KNNImputer",
    "sklearn.feature_selection._variance_threshold.VarianceThreshold",
    "sklearn.feature_selection._univariate_selection.SelectKBest",
    "sklearn.feature_selection._univariate_selection.SelectPercentile",
    "sklearn.feature_selection._univariate_selection.SelectFdr",
    "sklearn.feature_selection._from_model.SelectFromModel",
    "sklearn.feature_selection._rfe.RFE",
    "sklearn.decomposition._pca.PCA",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._logistic.LogisticRegressionCV",
    "sklearn.linear_model._coordinate_descent.Lasso",
    "sklearn.linear_model._coordinate_descent.LassoCV",
    "sklearn.linear_model._coordinate_descent.ElasticNet",
    "sklearn.svm._classes.SVC",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedGroupKFold",
    "sklearn.utils._bunch.Bunch",
    # survival models (scikit-survival) used by the Cox recipes
    "sksurv.linear_model.coxph.CoxPHSurvivalAnalysis",
    "sksurv.linear_model.coxnet.CoxnetSurvivalAnalysis",
    "sksurv.functions.StepFunction",
    "sksurv.linear_model.coxph.BreslowEstimator",
    "sksurv.nonparametric.SurvivalFunctionEstimator",
    "sksurv.nonparametric.CensoringDistributionEstimator",
}
_FUNCTIONS = {
    "sklearn.feature_selection._univariate_selection.f_classif",
    "sklearn.feature_selection._univariate_selection.chi2",
    "sklearn.feature_selection._mutual_info.mutual_info_classif",
    "numpy.log1p", "numpy.log", "numpy.sqrt", "numpy.expm1",
}

# loader -> allowed fully qualified type names. Loaders absent here (ConstructorFromReduceNode, MethodNode,
# PartialNode, OperatorFuncNode, ...) call or bind arbitrary callables and are never allowed.
ALLOWED: dict[str, frozenset[str]] = {
    "DictNode": frozenset({"builtins.dict"}),
    "ListNode": frozenset({"builtins.list"}),
    "TupleNode": frozenset({"builtins.tuple"}),
    "SetNode": frozenset({"builtins.set"}),
    "SliceNode": frozenset({"builtins.slice"}),
    "BytesNode": frozenset({"builtins.bytes"}),
    "BytearrayNode": frozenset({"builtins.bytearray"}),
    "JsonNode": frozenset(_PRIMITIVES),
    "TypeNode": frozenset(_PRIMITIVES | _NUMPY_SCALARS),
    "NdArrayNode": frozenset(_NUMPY),
    "MaskedArrayNode": frozenset({"numpy.ma.core.MaskedArray"}),
    "DTypeNode": frozenset({"numpy.dtype"}),
    "RandomStateNode": frozenset({"numpy.random.mtrand.RandomState"}),
    "ObjectNode": frozenset(_SKLEARN_OBJECTS | NBRISK_ESTIMATORS | {"numpy.dtype"}),
    "TreeNode": frozenset({"sklearn.tree._tree.Tree"}),
    "FunctionNode": frozenset(_FUNCTIONS),
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


SEAL = b"nbrisk-sha256:"
_SEAL_LEN = len(SEAL) + 64


def seal_zip(data: bytes) -> bytes:
    """Give a zip (written without a comment) a whole-file checksum: its comment becomes ``nbrisk-sha256:<hex>``,
    the SHA-256 of every byte before the hex digits (local headers, data, central directory, end record).

    Member checksums and CRCs miss damage to the zip's own structure (a flipped bit in the central directory
    loads without complaint); the seal covers every byte. It detects damage, not a deliberate edit (anyone
    can recompute it): ``--model-sha256`` from the publisher covers that.
    """
    if data[-22:-18] != b"PK\x05\x06" or data[-2:] != b"\0\0":
        raise ValueError("seal_zip needs a zip without a comment")
    body = data[:-2] + _SEAL_LEN.to_bytes(2, "little") + SEAL
    return body + hashlib.sha256(body).hexdigest().encode()


def check_seal(path: Path, data: bytes) -> None:
    """Refuse a bundle whose bytes do not match its whole-file checksum (see :func:`seal_zip`)."""
    tail = data[-_SEAL_LEN:]
    if len(data) < _SEAL_LEN + 22 or not tail.startswith(SEAL):
        raise UnsafeBundleError(f"{path}: bundle has no whole-file checksum (damaged, cut off or saved by an older "
                                "nbrisk); get an intact copy, or re-save it with this nbrisk")
    if hashlib.sha256(data[:-64]).hexdigest().encode() != tail[len(SEAL):]:
        raise UnsafeBundleError(f"{path}: the file's bytes do not match its whole-file checksum (damaged in "
                                "transfer or edited); get an intact copy of the bundle")


def read_members(path: Path, allowed_names: tuple[str, ...], data: bytes) -> dict[str, bytes]:
    """Unpack a bundle zip from ``data`` (the bytes of ``path``, read once by the caller, so that a file hash
    the caller checks describes exactly these members); refuse non-zips (e.g. a pickle), unknown or duplicate
    members. ``path`` only names the file in messages."""
    head = data[:4]
    if head[:1] == b"\x80":  # PROTO opcode: pickle protocol 2 or later (joblib files too)
        raise UnsafeBundleError(
            f"{path}: this is a pickle file, not an NBRisk bundle; pickles can run code when loaded. "
            "Wrap a trusted one with 'nbrisk bundle import --trust-pickle'"
        )
    if not data.startswith(b"PK\x03\x04") and not zipfile.is_zipfile(io.BytesIO(data)):
        raise UnsafeBundleError(f"{path}: not an NBRisk bundle (not a zip file, maybe an old pickle); "
                                "use a .nbrisk file saved by NBRisk")
    check_seal(path, data)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeBundleError(f"{path}: damaged zip structure ({exc}); get an intact copy of the bundle") from None
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise UnsafeBundleError(f"{path}: bundle has duplicate members; the file was tampered with, re-export it")
        unknown = sorted(set(names) - set(allowed_names))
        if unknown:
            raise UnsafeBundleError(
                f"{path}: bundle holds unexpected member(s) {', '.join(unknown)}; refusing it (re-export the bundle)"
            )
        out: dict[str, bytes] = {}
        for info in infos:
            if info.file_size > MAX_MEMBER_BYTES:
                raise UnsafeBundleError(f"{path}: member {info.filename} is implausibly large; refusing it")
            try:
                out[info.filename] = zf.read(info)
            except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as exc:  # CRC/inflate error: changed in place
                raise UnsafeBundleError(f"{path}: member {info.filename} is corrupt ({exc}); re-export the bundle")\
                    from exc
    return out


def verify_checksums(path: Path, members: dict[str, bytes], recorded: dict[str, Any]) -> None:
    """Check every non-manifest member against the SHA-256 in the manifest (and that none is missing)."""
    for name, data in members.items():
        if name == "manifest.json":
            continue
        entry = recorded.get(name)
        if not isinstance(entry, dict) or "sha256" not in entry:
            raise UnsafeBundleError(f"{path}: member {name} has no checksum in manifest.json; refusing it")
        if sha256_bytes(data) != entry["sha256"]:
            raise UnsafeBundleError(
                f"{path}: checksum of {name} does not match manifest.json (tampered or corrupted); "
                "get an intact copy of the bundle"
            )
    missing = sorted(set(recorded) - set(members))
    if missing:
        raise UnsafeBundleError(f"{path}: bundle lacks member(s) {', '.join(missing)}; re-export the bundle")


def _nodes(root: Any) -> Iterator[dict[str, Any]]:
    """Yield every dict with a ``__loader__`` key in a skops schema (iteratively: schemas can be deep)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__loader__" in node:
                yield node
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))


def audit_skops(data: bytes, source: str) -> list[str]:
    """Return the type names to trust for this skops payload, or raise if anything is not allow-listed.

    Every node of ``schema.json`` is checked (not only those skops itself would flag): its loader must
    be known and its ``module.class`` allowed for that loader.
    """
    if data[:1] == b"\x80":
        raise UnsafeBundleError(f"{source}: the model member is a pickle payload, not skops; refusing to load it")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            schema = json.loads(zf.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, zlib.error, EOFError) as exc:
        raise UnsafeBundleError(f"{source}: the model member is not a valid skops file ({exc}); re-export it")\
            from exc
    refused: set[str] = set()
    trusted: set[str] = set()
    for node in _nodes(schema):
        loader = node.get("__loader__")
        if loader == "CachedNode":
            continue
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        if name in ALLOWED.get(str(loader), frozenset()):
            trusted.add(name)
        else:
            refused.add(f"{name} ({loader})")
    if refused:
        raise UnsafeBundleError(
            f"{source}: model contains type(s) outside NBRisk's allow-list: {', '.join(sorted(refused))}; "
            "refusing to load it (only retrain or re-export from a trusted source can fix this)"
        )
    return sorted(trusted)


def skops_loads(data: bytes, source: str) -> Any:
    """Audit then load a skops payload, trusting only allow-listed names found in it."""
    import skops.io as sio

    trusted = audit_skops(data, source)
    try:
        return sio.loads(data, trusted=trusted)
    except Exception as exc:  # skops raises bare exceptions for unexpected content; give the file context
        raise UnsafeBundleError(f"{source}: skops refused the model ({type(exc).__name__}: {exc})") from exc


def normalise_skops(data: bytes) -> bytes:
    """The same skops archive with deterministic bytes: object ids renumbered in order of first appearance,
    ``<id>.npy`` members renamed to match, members in a fixed order with a fixed timestamp.

    skops names members and memo entries after ``id()`` (a memory address) and stamps the current time, so
    two dumps of one model differ; after this they are byte-identical. Only names change: the structure,
    the shared-object links and every array's bytes stay as they were (``save_bundle`` reloads the result).
    """
    import json as _json

    src = zipfile.ZipFile(io.BytesIO(data))
    schema = _json.loads(src.read("schema.json"))
    ids: dict[Any, int] = {}
    files: dict[str, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[Any, Any] = {}
            for k, v in node.items():
                if k == "__id__" and isinstance(v, int):
                    out[k] = ids.setdefault(v, len(ids) + 1)
                elif k == "file" and isinstance(v, str) and v in src.namelist():
                    out[k] = files.setdefault(v, f"{len(files) + 1:06d}{Path(v).suffix}")
                else:
                    out[k] = walk(v)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    new_schema = walk(schema)
    unknown = set(src.namelist()) - set(files) - {"schema.json"}
    if unknown:  # a member the schema does not name: keep the archive as it is rather than guess
        return data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as dst:
        entries = [("schema.json", _json.dumps(new_schema, indent=2).encode())]
        entries += sorted((new, src.read(old)) for old, new in files.items())
        for name, member in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = src.getinfo("schema.json").compress_type
            info.external_attr = 0o644 << 16
            dst.writestr(info, member)
    return buf.getvalue()
