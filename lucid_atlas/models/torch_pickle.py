"""Read legacy (pre-zip) PyTorch checkpoints with pickle + numpy only, never running code.

The legacy format is a sequence of pickles: magic number, protocol version, system info,
the object tree (tensors refer to storages through persistent ids), the list of storage
keys, then each storage's raw bytes prefixed by its element count. The object tree is read
by an unpickler whose ``find_class`` maps an allow-list of names to our own harmless
stand-ins; any other global makes it stop with :class:`UnsafePickleError`.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
from typing import Any, BinaryIO

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
SUPPORTED_PROTOCOL = 1001

_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class UnsafePickleError(pickle.UnpicklingError):
    """The checkpoint asks for a Python global outside the allow-list."""


class CheckpointFormatError(ValueError):
    """The file is not a legacy PyTorch checkpoint this reader understands."""


class _StorageType:
    """Stand-in for ``torch.FloatStorage`` and friends: only remembers the dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _PendingTensor:
    """A tensor whose storage bytes come later in the file."""

    def __init__(self, storage_key: str, offset: int, size: tuple, stride: tuple):
        self.storage_key = storage_key
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored) -> _PendingTensor:
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


def _ordered_dict(*args):
    return collections.OrderedDict(*args)


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only allow-listed globals, to harmless stand-ins."""

    def __init__(self, file: BinaryIO, storages: dict[str, dict]):
        super().__init__(file, encoding="latin1")
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load global '{module}.{name}': a weights file only needs "
                "tensors, storages and OrderedDict. The file may be hostile or not a plain "
                "state_dict; re-save it with torch.save(model.state_dict(), path)."
            ) from None

    def persistent_load(self, pid: Any) -> str:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise CheckpointFormatError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType):
            raise CheckpointFormatError(f"unknown storage type {storage_type!r}")
        self._storages.setdefault(str(key), {"dtype": storage_type.dtype, "numel": int(numel)})
        return str(key)


def _safe_scalar_load(file: BinaryIO) -> Any:
    """Load one of the small header pickles, which may hold no globals at all."""
    return _RestrictedUnpickler(file, {}).load()


def _read_storages(f: BinaryIO, storages: dict[str, dict]) -> dict[str, np.ndarray]:
    keys = _safe_scalar_load(f)
    if not isinstance(keys, list):
        raise CheckpointFormatError("storage key list missing")
    arrays = {}
    for key in keys:
        meta = storages.get(str(key))
        if meta is None:
            raise CheckpointFormatError(f"storage {key} has no description")
        (numel,) = struct.unpack("<q", f.read(8))
        nbytes = numel * meta["dtype"].itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise CheckpointFormatError(f"file truncated inside storage {key}")
        arrays[str(key)] = np.frombuffer(raw, dtype=meta["dtype"])
    return arrays


def _materialize(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, _PendingTensor):
        flat = arrays[obj.storage_key]
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[obj.offset:],
            shape=obj.size,
            strides=tuple(s * itemsize for s in obj.stride),
        )
        return np.array(view, copy=True)
    if isinstance(obj, dict):
        return type(obj)((k, _materialize(v, arrays)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v, arrays) for v in obj)
    return obj


def load_legacy_checkpoint(path_or_file: str | BinaryIO) -> dict[str, np.ndarray]:
    """Load a legacy PyTorch ``state_dict`` as ``{name: numpy array}`` without torch.

    Raises :class:`UnsafePickleError` when the file asks for any code outside the
    allow-list (nothing from the file is executed) and :class:`CheckpointFormatError`
    when it is not a legacy checkpoint (e.g. a zip-format ``.pt``).
    """
    if isinstance(path_or_file, (str, bytes)) or hasattr(path_or_file, "__fspath__"):
        with open(path_or_file, "rb") as f:
            return load_legacy_checkpoint(io.BytesIO(f.read()))
    f = path_or_file
    head = f.read(4)
    if head[:2] == b"PK":
        raise CheckpointFormatError(
            "this is a zip-format PyTorch file; re-save it with "
            "torch.save(sd, path, _use_new_zipfile_serialization=False) or convert it first"
        )
    f.seek(-len(head), io.SEEK_CUR)
    try:
        magic = _safe_scalar_load(f)
        if magic != LEGACY_MAGIC:
            raise CheckpointFormatError("not a legacy PyTorch checkpoint (bad magic number)")
        protocol = _safe_scalar_load(f)
        if protocol != SUPPORTED_PROTOCOL:
            raise CheckpointFormatError(f"unsupported checkpoint protocol {protocol}")
        sys_info = _safe_scalar_load(f)
        if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
            raise CheckpointFormatError("big-endian checkpoints are not supported")
        storages: dict[str, dict] = {}
        tree = _RestrictedUnpickler(f, storages).load()
    except (EOFError, struct.error) as exc:
        raise CheckpointFormatError(f"not a readable legacy checkpoint: {exc}") from None
    arrays = _read_storages(f, storages)
    state = _materialize(tree, arrays)
    if not isinstance(state, dict):
        raise CheckpointFormatError("checkpoint does not hold a state_dict")
    return {str(k): v for k, v in state.items() if isinstance(v, np.ndarray)}
