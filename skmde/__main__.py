"""Command line: ``python -m skmde`` or ``skmde``.

``skmde embed INPUT`` embeds the rows of a CSV, TSV, .npy or .npz file and
writes the embedding (CSV or .npy) and optionally a plot (``--plot``, an
image) or an interactive page (``--html``); ``skmde demo`` embeds
scikit-learn's digits. Errors are reported on one line (exit status 1; 2 for
bad arguments); ``-v`` shows progress and, on error, the traceback. Only
numpy is imported until there is work to do, so ``--help`` is quick.
"""

import argparse
import csv
import pathlib
import sys
import time
import warnings

import numpy as np

__all__ = ["main"]


class CommandError(Exception):
    """An error to report to the user in one line."""


# -- reading and writing ------------------------------------------------------------
def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


#: column names that usually hold labels, not features
LABEL_NAMES = {
    "target", "label", "labels", "class", "classes", "y", "species",
    "category", "cluster", "digit", "digits", "outcome",
}  # fmt: skip


def _delimiter(path, sample, sep):
    """``sep`` if given (``\\t`` for a tab); else the suffix's delimiter (tab
    for .tsv, comma otherwise) when the first line has it; else sniffed from
    ``sample`` among , ; tab and |."""
    if sep is not None:
        sep = "\t" if sep in ("\\t", "tab") else sep
        if len(sep) != 1:
            raise CommandError(f"--sep must be one character (or \\t); got {sep!r}")
        return sep
    default = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    if default in sample.split("\n", 1)[0]:
        return default
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return default


def read_table(path, color_by=None, exclude=(), sep=None):
    """Read a table; return ``(features, labels, kept_columns, names)``.

    ``kept_columns`` maps the names in ``exclude`` (and ``color_by``) to their
    values, which are not used as features. Column names may be header names or
    0-based indices. The delimiter is ``sep`` or sniffed from the file.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise CommandError(f"input file not found: {path}")
    if path.is_dir():
        raise CommandError(f"{path} is a directory; give a data file")
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return _read_numpy(path, color_by, exclude)
    if suffix not in (".csv", ".tsv", ".tab", ".txt"):
        raise CommandError(
            f"unsupported input format {suffix or '(none)'!r}: use .csv, .tsv, .npy "
            "or .npz"
        )
    try:
        # utf-8-sig: a byte-order mark (as spreadsheets write) is not part of
        # the first column's name
        with open(path, newline="", encoding="utf-8-sig") as handle:
            delimiter = _delimiter(path, handle.read(65536), sep)
            handle.seek(0)
            rows = [row for row in csv.reader(handle, delimiter=delimiter) if row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CommandError(
            f"cannot read {path} as {suffix[1:].upper()}: {exc}"
        ) from exc
    if not rows:
        raise CommandError(f"{path} is empty")
    has_header = any(not _is_number(cell) for cell in rows[0])
    header = rows[0] if has_header else [str(i) for i in range(len(rows[0]))]
    body = rows[1:] if has_header else rows
    if not body:
        raise CommandError(f"{path} has a header but no data rows")
    width = len(header)
    for number, row in enumerate(body, start=2 if has_header else 1):
        if len(row) != width:
            raise CommandError(
                f"{path}, line {number}: {len(row)} fields, expected {width}"
            )
    columns = list(zip(*body)) if body else [() for _ in header]
    special = [c for c in (*exclude, color_by) if c is not None]
    kept, features, names = {}, [], []
    for name in special:
        index = _column_index(name, header)
        kept[name] = np.asarray(columns[index])
    used = {_column_index(name, header) for name in special}
    for index, name in enumerate(header):
        if index in used:
            continue
        values = columns[index]
        empty = [i for i, v in enumerate(values) if not v.strip()]
        if empty:
            line = empty[0] + (2 if has_header else 1)
            raise CommandError(
                f"column {name!r} has {len(empty)} empty cell(s) (first: line "
                f"{line}); fill or drop the rows with missing values first"
            )
        try:
            features.append(np.asarray(values, dtype=np.float64))
        except ValueError:
            bad = next(v for v in values if not _is_number(v))
            raise CommandError(
                f"column {name!r} is not numeric (value {bad!r}); pass it with "
                "--color-by or --exclude"
            ) from None
        names.append(name)
    if not features:
        raise CommandError(f"{path} has no numeric feature column")
    _warn_label_like(names, features)
    X = np.column_stack(features)
    labels = kept.get(color_by) if color_by is not None else None
    return X, _numeric_if_possible(labels), kept, names


def _warn_label_like(names, features):
    """Warn about feature columns that look like labels or row numbers."""
    for name, values in zip(names, features):
        if name.strip().lower() in LABEL_NAMES:
            warnings.warn(
                f"column {name!r} looks like a label but is used as a feature; "
                f"pass --color-by {name} (or --exclude {name}) to leave it out",
                UserWarning,
                stacklevel=3,
            )
        elif len(values) >= 20 and (
            np.array_equal(values, np.arange(len(values)))
            or np.array_equal(values, np.arange(1, len(values) + 1))
        ):
            warnings.warn(
                f"column {name!r} numbers the rows (0, 1, 2, ...) but is used as a "
                f"feature; pass --exclude {name} to leave it out",
                UserWarning,
                stacklevel=3,
            )


def _column_index(name, header):
    if name in header:
        return header.index(name)
    if name.isdigit() and int(name) < len(header):
        return int(name)
    raise CommandError(f"no column {name!r}; columns: {', '.join(header)}")


def _numeric_if_possible(values):
    """Numbers as numbers (whole numbers as int64: class labels get a legend,
    not a colour bar), anything else as strings."""
    if values is None:
        return None
    try:
        numbers = values.astype(np.float64)
    except ValueError:
        return values
    if np.isfinite(numbers).all() and (numbers == np.round(numbers)).all():
        return numbers.astype(np.int64)
    return numbers


def _read_numpy(path, color_by, exclude):
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    kept = {}
    if isinstance(loaded, np.lib.npyio.NpzFile):
        names = list(loaded.files)
        if not names:
            raise CommandError(f"{path} holds no array")
        key = next((k for k in ("X", "data") if k in names), names[0])
        X = loaded[key]
        for name in (*exclude, color_by):
            if name is None:
                continue
            if name not in names:
                raise CommandError(
                    f"{path} has no array {name!r}; arrays: {', '.join(names)}"
                )
            kept[name] = loaded[name]
    else:
        X = loaded
        if color_by is not None or exclude:
            raise CommandError(
                ".npy files hold one array: --color-by and --exclude "
                "need a CSV, TSV or .npz file"
            )
    if X.ndim != 2:
        raise CommandError(f"{path}: expected a 2-D array, got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise CommandError(f"{path}: the array is not numeric (dtype {X.dtype})")
    for name, column in kept.items():
        if column.ndim != 1 or len(column) != len(X):
            raise CommandError(
                f"{path}: array {name!r} has shape {column.shape}; it must hold one "
                f"value per row of the data ({len(X)} rows)"
            )
    labels = kept.get(color_by) if color_by is not None else None
    return X.astype(np.float64), labels, kept, [str(i) for i in range(X.shape[1])]


def check_output(path):
    """Refuse an output format we cannot write, before any work is done."""
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in (".csv", ".tsv", ".npy"):
        raise CommandError(
            f"unsupported output format {suffix!r}: use .csv, .tsv or .npy"
        )


def write_embedding(path, embedding, kept, names):
    """Write the embedding (columns ``names``, the estimator's
    ``get_feature_names_out()``) after the ``kept`` columns."""
    path = pathlib.Path(path)
    check_output(path)
    if path.suffix.lower() == ".npy":
        np.save(path, embedding)
        return
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    header = list(kept) + list(names)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        extra = [kept[name] for name in kept]
        for i, row in enumerate(embedding):
            writer.writerow(
                [column[i] for column in extra] + [f"{value:.7g}" for value in row]
            )


# -- commands ------------------------------------------------------------------
def _estimator(args, n_samples):
    import skmde

    verbose = 1 if args.verbose or (n_samples >= 10000 and sys.stderr.isatty()) else 0
    common = {
        "n_components": args.n_components,
        "metric": args.metric,
        "random_state": args.random_state,
        "verbose": verbose,
    }
    if args.recipe == "distances":
        return skmde.MDEDistances(**common)
    return skmde.MDENeighbors(n_neighbors=args.n_neighbors, **common)


def _fit(args, X):
    """Fit the estimator (after standardizing with ``--scale``); returns the
    embedding and its column names."""
    estimator = _estimator(args, len(X))
    if args.scale:
        from sklearn.preprocessing import StandardScaler

        X = StandardScaler().fit_transform(X)
    embedding = estimator.fit_transform(X)
    return embedding, estimator.get_feature_names_out()


def _check_pictures(args):
    """Refuse unusable picture options before any work is done."""
    if (args.plot or args.html) and args.n_components > 3:
        raise CommandError("--plot and --html need --n-components of 1, 2 or 3")
    if args.html and pathlib.Path(args.html).suffix.lower() not in (".html", ".htm"):
        raise CommandError(f"--html needs a .html path; got {args.html}")


def _pictures(args, embedding, labels, kept, title):
    """Write --plot and --html; returns their paths."""
    from .plotting import plot

    written = []
    if args.plot:
        plot(embedding, color_by=labels, title=title, savepath=args.plot)
        written.append(args.plot)
    if args.html:
        hover = {name: values for name, values in kept.items() if name != title}
        plot(
            embedding,
            color_by=labels,
            title=title,
            hover=hover,
            interactive=True,
            savepath=args.html,
        )
        written.append(args.html)
    return written


def _embed(args):
    _check_pictures(args)
    out = args.out or str(pathlib.Path(args.input).with_suffix("")) + "_embedding.csv"
    check_output(out)
    X, labels, kept, _ = read_table(args.input, args.color_by, args.exclude, args.sep)
    start = time.perf_counter()
    embedding, names = _fit(args, X)
    write_embedding(out, embedding, kept, names)
    message = (
        f"embedded {X.shape[0]} rows x {X.shape[1]} features"
        f"{' (standardized)' if args.scale else ''} in "
        f"{time.perf_counter() - start:.2f} s -> {out}"
    )
    for path in _pictures(args, embedding, labels, kept, args.color_by):
        message += f", {path}"
    print(message)


def _demo(args):
    from sklearn.datasets import load_digits

    _check_pictures(args)
    digits = load_digits()
    start = time.perf_counter()
    embedding, names = _fit(args, digits.data)
    kept = {"digit": digits.target}
    write_embedding(args.out, embedding, kept, names)
    message = (
        f"embedded scikit-learn's digits ({digits.data.shape[0]} images) in "
        f"{time.perf_counter() - start:.2f} s -> {args.out}"
    )
    for path in _pictures(args, embedding, digits.target, kept, "digit"):
        message += f", {path}"
    print(message)


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skmde", description="Minimum-Distortion Embedding from the command line."
    )
    parser.add_argument("--version", action="version", version=f"skmde {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub):
        sub.add_argument(
            "--recipe",
            choices=("neighbors", "distances"),
            default="neighbors",
            help="preserve neighbourhoods (default) or distances",
        )
        sub.add_argument("--n-components", type=int, default=2)
        sub.add_argument("--n-neighbors", type=int, default=None)
        sub.add_argument("--metric", default="euclidean")
        sub.add_argument("--random-state", type=int, default=None)
        sub.add_argument(
            "--scale",
            action="store_true",
            help="standardize each feature (zero mean, unit variance) first: "
            "advisable when features have different units",
        )
        sub.add_argument(
            "--html", help="also save an interactive page (e.g. embedding.html)"
        )
        sub.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            help="show progress; on error, the traceback",
        )

    embed = commands.add_parser("embed", help="embed the rows of a data file")
    embed.add_argument("input", help="a .csv, .tsv, .npy or .npz file")
    embed.add_argument(
        "--out", help="output .csv or .npy (default: INPUT_embedding.csv)"
    )
    embed.add_argument("--plot", help="also save a plot (e.g. embedding.png)")
    embed.add_argument(
        "--color-by", help="a label column: colours the plot, not used as a feature"
    )
    embed.add_argument(
        "--sep",
        help="the column delimiter of a text file (\\t for a tab); by default "
        "the suffix's (tab for .tsv, comma otherwise) or the one the file uses",
    )
    embed.add_argument(
        "--exclude",
        action="append",
        default=[],
        help="a column to leave out of the features (e.g. an id); "
        "repeatable; copied to the output",
    )
    common(embed)
    demo = commands.add_parser("demo", help="embed scikit-learn's digits")
    demo.add_argument("--out", default="digits_embedding.csv")
    demo.add_argument("--plot", default="digits_embedding.png")
    common(demo)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None):
    return f"skmde: warning: {message}\n"


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    formatwarning = warnings.formatwarning
    if not args.verbose:  # one line each, without the source line
        warnings.formatwarning = _one_line_warning
    try:
        if args.command == "demo":
            _demo(args)
        else:
            _embed(args)
    except (
        CommandError,
        ValueError,
        TypeError,
        ImportError,
        OSError,
        MemoryError,
        RuntimeError,  # torch's linear-algebra errors among them
    ) as exc:
        if args.verbose:
            raise
        message = (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        print(f"skmde: error: {message}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = formatwarning
    return 0


if __name__ == "__main__":
    sys.exit(main())
