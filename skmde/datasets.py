"""Loaders for the classic embedding benchmarks: MNIST and Fashion-MNIST.

The files are the standard gzip-compressed IDX files. They are read from
``data_home`` (by default ``$SKMDE_DATA`` or ``~/.cache/skmde``), downloaded
there when absent and ``download=True``, and checked before use: the IDX magic
number, the dimensions and the exact decompressed size must be those of the
published files, so a truncated or foreign file raises an error instead of
returning garbage. Any gzip compression level is accepted.
"""

import gzip
import os
import pathlib
import shutil
import struct
import tempfile
import urllib.request
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MNIST", "Dataset", "FashionMNIST", "load_fashion_mnist", "load_mnist"]

_MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
}
_FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass
class Dataset:
    """A dataset with numpy arrays, in scikit-learn's and PyMDE's styles.

    Attributes
    ----------
    data : ndarray of shape (n_samples, n_features), float32
        One flattened image per row, pixel values in [0, 255] (a torch.Tensor
        from :func:`MNIST` and :func:`FashionMNIST`, as in PyMDE).
    target : ndarray of shape (n_samples,), int64
        The class labels.
    attributes : dict
        PyMDE's style: ``{"digits": target}`` for MNIST, ``{"class": target}``
        for Fashion-MNIST.
    target_names : list of str
    images : ndarray of shape (n_samples, 28, 28), uint8
    """

    data: np.ndarray
    target: np.ndarray
    attributes: dict = field(default_factory=dict)
    target_names: list = field(default_factory=list)
    images: np.ndarray | None = None

    def __iter__(self):  # allows ``X, y = load_mnist()``
        return iter((self.data, self.target))


def default_data_home():
    """``$SKMDE_DATA`` if set, else ``~/.cache/skmde``."""
    return pathlib.Path(os.environ.get("SKMDE_DATA", "~/.cache/skmde")).expanduser()


def _read_idx(path, magic, shape):
    """Read a gzip IDX file, checking its header and size against ``shape``."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable gzip file: {exc}") from exc
    ndim = len(shape)
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is too short to hold an IDX header.")
    found = struct.unpack(">I", raw[:4])[0]
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if found != magic or dims != shape:
        raise ValueError(
            f"{path} is not the expected IDX file: magic {found:#010x} and "
            f"dimensions {dims}, expected {magic:#010x} and {shape}."
        )
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(
            f"{path} holds {len(raw)} bytes once decompressed, expected {expected}; "
            "the file is truncated or corrupt: delete it and download it again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _fetch(filename, folder, urls, download):
    path = folder / filename
    if path.exists():
        return path
    if not download:
        raise FileNotFoundError(
            f"{path} does not exist; pass download=True to fetch it or point "
            "data_home to a folder that holds it."
        )
    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for base in urls:
        try:
            with (
                urllib.request.urlopen(base + filename, timeout=60) as response,
                tempfile.NamedTemporaryFile(dir=folder, delete=False) as tmp,
            ):
                shutil.copyfileobj(response, tmp)
            os.replace(tmp.name, path)
            return path
        except OSError as exc:  # URLError is an OSError
            errors.append(f"{base}{filename}: {exc}")
    raise OSError("could not download " + filename + ":\n  " + "\n  ".join(errors))


def _load(name, subdir, urls, subset, data_home, download, attribute, names):
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all'; got {subset!r}.")
    folder = (
        pathlib.Path(data_home).expanduser()
        if data_home is not None
        else default_data_home() / subdir
    )
    if not folder.is_dir() and not download:
        raise FileNotFoundError(
            f"{name}: data_home {folder} does not exist (download=False)."
        )
    parts = ("train", "test") if subset == "all" else (subset,)
    images, labels = [], []
    for part in parts:
        image_file, label_file, n = _FILES[part]
        images.append(
            _read_idx(
                _fetch(image_file, folder, urls, download), 0x00000803, (n, 28, 28)
            )
        )
        labels.append(
            _read_idx(_fetch(label_file, folder, urls, download), 0x00000801, (n,))
        )
    images = np.concatenate(images)
    target = np.concatenate(labels).astype(np.int64)
    if target.max() > 9:
        raise ValueError(f"{name}: labels outside 0-9; the label file is corrupt.")
    return Dataset(
        data=images.reshape(len(images), -1).astype(np.float32),
        target=target,
        attributes={attribute: target},
        target_names=list(names),
        images=images,
    )


def load_mnist(data_home=None, *, subset="test", download=True):
    """Load MNIST handwritten digits (28 x 28 grey images, 10 classes).

    Parameters
    ----------
    data_home : str or path, optional
        Folder holding the four IDX files (as published, gzip-compressed).
        Defaults to ``<cache>/mnist`` with the cache from
        :func:`default_data_home`.
    subset : {"test", "train", "all"}, default="test"
        The 10,000 test images, the 60,000 training images, or all 70,000.
    download : bool, default=True
        Fetch missing files into ``data_home``.

    Returns
    -------
    Dataset
        ``.data`` (float32, n x 784), ``.target``, ``.attributes["digits"]``,
        ``.images``.

    Raises
    ------
    FileNotFoundError
        A file is missing and ``download`` is False.
    ValueError
        A file is not the expected IDX file (wrong header, truncated).
    """
    return _load(
        "MNIST",
        "mnist",
        _MNIST_URLS,
        subset,
        data_home,
        download,
        "digits",
        [str(d) for d in range(10)],
    )


def load_fashion_mnist(data_home=None, *, subset="test", download=True):
    """Load Fashion-MNIST (28 x 28 grey images of clothing, 10 classes).

    Same files, layout and parameters as :func:`load_mnist`; the labels are in
    ``.attributes["class"]`` and their names in ``.target_names``.
    """
    return _load(
        "Fashion-MNIST",
        "fashion_mnist",
        _FASHION_URLS,
        subset,
        data_home,
        download,
        "class",
        _FASHION_CLASSES,
    )


def _as_pymde(dataset):
    """The dataset with torch tensors where PyMDE's has them (``data``, the
    attributes); ``target`` and ``images`` stay numpy arrays."""
    import torch

    return Dataset(
        data=torch.from_numpy(dataset.data),
        target=dataset.target,
        attributes={k: torch.from_numpy(v) for k, v in dataset.attributes.items()},
        target_names=dataset.target_names,
        images=dataset.images,
    )


def MNIST(data_home=None, download=True):
    """All 70,000 MNIST images, as ``pymde.datasets.MNIST()`` returns them.

    ``.data`` is a float32 ``torch.Tensor`` of shape (70000, 784), pixel
    values in [0, 255], and ``.attributes["digits"]`` an int64 tensor, as in
    PyMDE (so ``torch.vstack`` and other tensor code from PyMDE's examples
    run unchanged); ``.target`` is the same labels as a numpy array. The
    scikit-learn-style :func:`load_mnist` returns numpy arrays throughout.
    The first 60,000 rows are the training images, the last 10,000 the test
    images (PyMDE's order).
    """
    return _as_pymde(load_mnist(data_home, subset="all", download=download))


def FashionMNIST(data_home=None, download=True):
    """All 70,000 Fashion-MNIST images, as ``pymde.datasets.FashionMNIST()``
    returns them: tensors, as :func:`MNIST` describes."""
    return _as_pymde(load_fashion_mnist(data_home, subset="all", download=download))
