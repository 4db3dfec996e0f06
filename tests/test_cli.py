import subprocess
import sys

import numpy as np
import pytest

from skmde.__main__ import main, read_table


def run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "skmde", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(60, 3)), 8 + rng.normal(size=(60, 3))])
    path = tmp_path / "points.csv"
    with open(path, "w") as f:
        f.write("id,a,b,c,label\n")
        for i, row in enumerate(X):
            f.write(
                f"p{i},{row[0]},{row[1]},{row[2]},{'left' if i < 60 else 'right'}\n"
            )
    return path


def test_demo_end_to_end(tmp_path):
    result = run(
        "demo", "--out", "d.csv", "--plot", "d.png", "--random-state", "0", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "1797 images" in result.stdout
    lines = (tmp_path / "d.csv").read_text().splitlines()
    assert lines[0] == "digit,x0,x1" and len(lines) == 1798
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"


def test_embed_csv_with_label_and_id_columns(table, tmp_path):
    result = run(
        "embed",
        str(table),
        "--color-by",
        "label",
        "--exclude",
        "id",
        "--out",
        "emb.csv",
        "--plot",
        "emb.png",
        "--random-state",
        "1",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = (tmp_path / "emb.csv").read_text().splitlines()
    assert rows[0] == "id,label,x0,x1"
    assert rows[1].startswith("p0,left,")
    assert len(rows) == 121
    emb = np.loadtxt(tmp_path / "emb.csv", delimiter=",", skiprows=1, usecols=(2, 3))
    # the two groups stay apart
    left, right = emb[:60].mean(0), emb[60:].mean(0)
    assert np.linalg.norm(left - right) > 2 * emb[:60].std(0).max()
    assert (tmp_path / "emb.png").exists()


def test_npy_in_and_out(tmp_path):
    X = np.random.default_rng(0).normal(size=(80, 4))
    np.save(tmp_path / "x.npy", X)
    result = run(
        "embed",
        "x.npy",
        "--out",
        "e.npy",
        "--recipe",
        "distances",
        "--n-components",
        "3",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "e.npy").shape == (80, 3)


@pytest.mark.parametrize("n_labels", [49, 51])
def test_npz_labels_of_another_length_refused(tmp_path, capsys, n_labels):
    # 51 labels for 50 rows were silently truncated; 49 raised IndexError and
    # left a truncated CSV behind
    X = np.random.default_rng(0).normal(size=(50, 4))
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(n_labels) % 3)
    out = tmp_path / "o.csv"
    args = ["embed", str(tmp_path / "d.npz"), "--color-by", "y", "--out", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "array 'y' has shape" in err and "(50 rows)" in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_npz_with_labels(tmp_path):
    X = np.random.default_rng(0).normal(size=(50, 4))
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(50) % 3)
    assert (
        main(
            [
                "embed",
                str(tmp_path / "d.npz"),
                "--color-by",
                "y",
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
        == 0
    )
    assert (tmp_path / "o.csv").read_text().splitlines()[0] == "y,x0,x1"


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (None, ["embed", "missing.csv"], "input file not found: missing.csv"),
        ("x.json", ["embed", "x.json"], "unsupported input format '.json'"),
        ("bad.csv", ["embed", "bad.csv"], "column 'name' is not numeric"),
        ("ragged.csv", ["embed", "ragged.csv"], "line 3: 1 fields, expected 2"),
        ("bad.csv", ["embed", "bad.csv", "--color-by", "nope"], "no column 'nope'"),
        (
            "bad.csv",
            ["embed", "bad.csv", "--exclude", "name", "--out", "o.txt"],
            "unsupported output format",
        ),
        # a directory was "unsupported input format"
        ("folder.csv", ["embed", "folder.csv"], "folder.csv is a directory"),
        # an empty cell was "not numeric (value '')": exclude a real feature?
        ("gaps.csv", ["embed", "gaps.csv"], "column 'b' has 1 empty cell(s) (first"),
    ],
)
def test_errors_are_one_line(tmp_path, make, args, message):
    contents = {
        "x.json": "{}",
        "bad.csv": "name,value\nab,1\ncd,2\nef,3\n",
        "ragged.csv": "a,b\n1,2\n3\n",
        "gaps.csv": "a,b\n1,2\n3,\n4,5\n",
    }
    if make == "folder.csv":
        (tmp_path / make).mkdir()
    elif make:
        (tmp_path / make).write_text(contents[make])
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("skmde: error: ")
    assert message in line


def test_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    # a UTF-8 BOM (as spreadsheets write) made the first column '\ufeffy'
    X = np.random.default_rng(0).normal(size=(40, 3))
    lines = ["y,a,b,c"] + [f"{i % 2},{r[0]},{r[1]},{r[2]}" for i, r in enumerate(X)]
    (tmp_path / "bom.csv").write_text("\n".join(lines), encoding="utf-8-sig")
    out = tmp_path / "o.csv"
    args = ["embed", str(tmp_path / "bom.csv"), "--color-by", "y", "--out", str(out)]
    assert main(args) == 0
    assert out.read_text().splitlines()[0] == "y,x0,x1"


def test_memory_refusal_is_one_line(tmp_path, capsys, monkeypatch):
    # a MemoryError (and torch's linear-algebra errors) printed a traceback
    import skmde._inputs

    monkeypatch.setattr(skmde._inputs, "physical_memory", lambda: 2**10)
    X = np.random.default_rng(0).normal(size=(40, 3))
    np.save(tmp_path / "d.npy", X)
    assert main(["embed", str(tmp_path / "d.npy"), "--out", "o.csv"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("skmde: error: preserve_neighbors would use")
    assert err.count("\n") == 1


def test_verbose_shows_the_traceback(tmp_path):
    result = run("embed", "missing.csv", "-v", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_bad_arguments_exit_2(tmp_path):
    result = run("embed", cwd=tmp_path)
    assert result.returncode == 2 and "usage" in result.stderr


def test_read_table_headerless_tsv(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("1\t2\n3\t4\n5\t6\n")
    X, labels, kept, names = read_table(path)
    np.testing.assert_array_equal(X, [[1, 2], [3, 4], [5, 6]])
    assert labels is None and names == ["0", "1"]
