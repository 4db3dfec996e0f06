import gzip
import shutil

import numpy as np
import pytest

from skmde import datasets


def test_load_mnist_test_set(mnist_dir):
    mnist = datasets.load_mnist(mnist_dir, download=False)
    assert mnist.data.shape == (10000, 784) and mnist.data.dtype == np.float32
    assert mnist.target.shape == (10000,) and set(mnist.target) == set(range(10))
    assert mnist.images.shape == (10000, 28, 28)
    assert np.array_equal(mnist.attributes["digits"], mnist.target)
    assert mnist.data.min() >= 0 and mnist.data.max() == 255
    X, y = mnist  # unpacks like return_X_y
    assert X is mnist.data and y is mnist.target
    assert mnist.target[:5].tolist() == [7, 2, 1, 0, 4]  # the published order


def test_missing_files_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        datasets.load_mnist(tmp_path, download=False)


def test_download_into_data_home(mnist_dir, tmp_path, monkeypatch):
    # serve the shared copies from a local "mirror" (file:// URL)
    monkeypatch.setattr(datasets, "_MNIST_URLS", (mnist_dir.as_uri() + "/",))
    home = tmp_path / "cache"
    mnist = datasets.load_mnist(home, download=True)
    assert (home / "t10k-images-idx3-ubyte.gz").exists()
    assert mnist.data.shape == (10000, 784)


def test_failed_download_says_where_it_tried(tmp_path, monkeypatch):
    monkeypatch.setattr(
        datasets, "_MNIST_URLS", ((tmp_path / "nowhere").as_uri() + "/",)
    )
    with pytest.raises(OSError, match="could not download t10k-images"):
        datasets.load_mnist(tmp_path / "cache", download=True)


def test_default_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("SKMDE_DATA", str(tmp_path))
    assert datasets.default_data_home() == tmp_path


@pytest.mark.parametrize("damage", ["truncate", "header", "not_gzip"])
def test_integrity_checks(mnist_dir, tmp_path, damage):
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(mnist_dir / name, tmp_path / name)
    target = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(target) as f:
        raw = f.read()
    if damage == "truncate":
        raw = raw[:-100]
    elif damage == "header":
        raw = b"\x00\x00\x08\x01" + raw[4:]
    if damage == "not_gzip":
        target.write_bytes(raw[:1000])
    else:
        with gzip.open(target, "wb", compresslevel=1) as f:  # any compression level
            f.write(raw)
    with pytest.raises(ValueError, match=r"truncated|IDX|gzip"):
        datasets.load_mnist(tmp_path, download=False)


def test_subset_names_validated(tmp_path):
    with pytest.raises(ValueError, match="subset must be"):
        datasets.load_mnist(tmp_path, subset="validation")


def test_fashion_mnist_layout(mnist_dir, tmp_path):
    # Fashion-MNIST has the same files; check the loader's naming on MNIST bytes
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(mnist_dir / name, tmp_path / name)
    fashion = datasets.load_fashion_mnist(tmp_path, download=False)
    assert fashion.target_names[0] == "T-shirt/top"
    assert "class" in fashion.attributes
