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
    assert lines[0] == "digit,mdeneighbors0,mdeneighbors1" and len(lines) == 1798
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
    assert rows[0] == "id,label,mdeneighbors0,mdeneighbors1"
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
    assert (tmp_path / "o.csv").read_text().splitlines()[
        0
    ] == "y,mdeneighbors0,mdeneighbors1"


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
    assert out.read_text().splitlines()[0] == "y,mdeneighbors0,mdeneighbors1"


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


# -- issue 20: readable defaults, delimiters, scaling, HTML, a quick --help ------
def write(path, text):
    path.write_text(text)
    return path


def test_integer_labels_stay_categorical(tmp_path):
    from skmde.plotting._style import coloring

    path = write(tmp_path / "t.csv", "a,b,target\n" + "1.5,2,0\n3,4,1\n5,6,2\n" * 4)
    _, labels, _, _ = read_table(path, color_by="target")
    assert labels.dtype == np.int64 and labels[:3].tolist() == [0, 1, 2]
    assert coloring(len(labels), labels).kind == "categorical"  # a legend
    path = write(tmp_path / "u.csv", "a,b,score\n1,2,0.5\n3,4,1.5\n")
    assert read_table(path, color_by="score")[1].dtype == np.float64


def test_label_like_feature_warns(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,target\n" + "1.5,2,0\n3,4,1\n" * 3)
    with pytest.warns(UserWarning, match="'target' looks like a label.*--color-by"):
        X, _, _, names = read_table(path)
    assert names == ["a", "b", "target"] and X.shape == (6, 3)  # still used
    rows = "\n".join(f"{i},{i * 0.37 % 1},{i % 3}" for i in range(30))
    path = write(tmp_path / "ids.csv", "n,x,y2\n" + rows + "\n")
    with pytest.warns(UserWarning, match="'n' numbers the rows.*--exclude n"):
        read_table(path)


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        ("a;b;c\n1,5;2;3\n4;5;6\n", None),  # sniffed: ';' with decimal commas
        ("a;b;c\n1.5;2;3\n4;5;6\n", ";"),
        ("a\tb\tc\n1.5\t2\t3\n4\t5\t6\n", "\\t"),
        ("a|b|c\n1.5|2|3\n4|5|6\n", None),
    ],
)
def test_delimiters(tmp_path, text, sep):
    path = write(tmp_path / "d.csv", text)
    if text.startswith("a;b;c\n1,5"):
        # decimal commas are not numbers: the sniffed ';' shows that clearly
        with pytest.raises(Exception, match="column 'a' is not numeric"):
            read_table(path, sep=sep)
        return
    X, _, _, names = read_table(path, sep=sep)
    assert names == ["a", "b", "c"] and X.tolist() == [[1.5, 2, 3], [4, 5, 6]]


def test_bad_sep_and_header_only(tmp_path, capsys):
    path = write(tmp_path / "d.csv", "a,b\n1,2\n3,4\n")
    assert main(["embed", str(path), "--sep", ";;"]) == 1
    assert "--sep must be one character" in capsys.readouterr().err
    empty = write(tmp_path / "h.csv", "a,b,c\n")
    assert main(["embed", str(empty)]) == 1
    assert "has a header but no data rows" in capsys.readouterr().err


def test_scale_standardizes_first(tmp_path):
    from sklearn.preprocessing import StandardScaler

    import skmde

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)) * np.array([1.0, 1000.0, 0.01])
    np.save(tmp_path / "x.npy", X)
    args = ["embed", str(tmp_path / "x.npy"), "--scale", "--random-state", "0"]
    assert main([*args, "--out", str(tmp_path / "e.npy")]) == 0
    expected = skmde.MDENeighbors(random_state=0).fit_transform(
        StandardScaler().fit_transform(X)
    )
    np.testing.assert_array_equal(np.load(tmp_path / "e.npy"), expected)


def test_html_page(table, tmp_path, capsys):
    html = tmp_path / "emb.html"
    args = ["embed", str(table), "--color-by", "label", "--exclude", "id"]
    assert main([*args, "--out", str(tmp_path / "e.csv"), "--html", str(html)]) == 0
    assert str(html) in capsys.readouterr().out
    text = html.read_text(encoding="utf-8")
    assert "id: %{customdata[2]}" in text and "label: %{customdata[1]}" in text
    assert main([*args, "--html", str(tmp_path / "e.png")]) == 1
    assert "--html needs a .html path" in capsys.readouterr().err
    assert main([*args, "--html", str(html), "--n-components", "4"]) == 1
    assert "--n-components of 1, 2 or 3" in capsys.readouterr().err


def test_version_and_quick_help(tmp_path):
    import skmde

    result = run("--version", cwd=tmp_path)
    assert result.stdout.strip() == f"skmde {skmde.__version__}"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "skmde", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "--scale" not in result.stdout  # subcommands
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "torch" not in imported and "sklearn" not in imported
    assert "--scale" in run("embed", "--help", cwd=tmp_path).stdout
