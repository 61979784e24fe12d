#!/usr/bin/env python3
"""Writes fixtures/csv/: the iris rows in the shapes people export CSV in.

Standard library only. Each file holds the same 150 rows (the features of
fixtures/iris.csv and the species as a string label):

- iris_plain.csv: a header of names, features then `species`;
- iris_pandas.csv: what `DataFrame.to_csv(path)` writes with default options
  for a frame with an `id` column: an unnamed index column first, then `id`;
- iris_quote_all.csv: every field quoted (`csv.QUOTE_ALL`, RFC 4180);
- iris_semicolon.csv: `;`-separated, CRLF line endings and a UTF-8
  byte-order mark, as spreadsheets export;
- ragged_one_row.csv: a header of five columns and one row of three fields.

Run from the repository root: python3 scripts/make_csv_fixtures.py
"""

import csv
import io
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "fixtures", "csv")
NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def rows():
    with open(os.path.join(ROOT, "fixtures", "iris.csv"), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        classes = header[2:]
        for r in reader:
            if r:
                yield r[:4], classes[int(r[4])]


def write(name, text, encoding="utf-8"):
    with open(os.path.join(OUT, name), "w", encoding=encoding, newline="") as f:
        f.write(text)


def table(delimiter=",", quoting=csv.QUOTE_MINIMAL, lineterminator="\n", index=False, ids=False,
          label=lambda s: s):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator=lineterminator)
    head = ([""] if index else []) + (["id"] if ids else []) + NAMES + ["species"]
    w.writerow(head)
    for i, (features, species) in enumerate(rows()):
        row = ([str(i)] if index else []) + ([str(842302 + 7919 * i)] if ids else [])
        w.writerow(row + features + [label(species)])
    return buf.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    write("iris_plain.csv", table())
    write("iris_pandas.csv", table(index=True, ids=True))
    write("iris_quote_all.csv", table(quoting=csv.QUOTE_ALL))
    write("iris_semicolon.csv", "\ufeff" + table(delimiter=";", lineterminator="\r\n"))
    write("ragged_one_row.csv", "a,b,c,d,label\n1,2,0\n")


if __name__ == "__main__":
    main()
