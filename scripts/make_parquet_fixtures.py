#!/usr/bin/env python3
"""Writes fixtures/parquet/: iris as Parquet files (needs pyarrow).

- iris.parquet: the rows of fixtures/csv/iris_plain.csv (four float64
  features, the species as a string), in row groups of 64 rows, snappy
  compressed as pandas writes them;
- iris_types.parquet: the same rows with an int32, a float32 and an int64
  feature and the species as a dictionary-encoded (categorical) column;
- iris_null.parquet: iris.parquet with one feature value null (row 5);
- iris_nested.parquet: iris.parquet with a list column;
- iris_zstd.parquet, iris_lz4.parquet, iris_gzip.parquet: iris.parquet
  with other compressions (zstd is polars' default), and
  iris_brotli.parquet with one zkpot does not read;
- iris_pandas_index.parquet: iris.parquet as pandas writes a frame whose
  index is not the default one (a `__index_level_0__` column at the end).

Run from the repository root: python3 scripts/make_parquet_fixtures.py
"""

import csv
import os

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "fixtures", "parquet")
NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def plain():
    with open(os.path.join(ROOT, "fixtures", "csv", "iris_plain.csv"), newline="") as f:
        r = csv.reader(f)
        next(r)
        rows = [row for row in r if row]
    cols = {n: [float(row[j]) for row in rows] for j, n in enumerate(NAMES)}
    return cols, [row[4] for row in rows]


def write(name, table, compression="snappy"):
    pq.write_table(table, os.path.join(OUT, name), row_group_size=64, compression=compression)


def main():
    os.makedirs(OUT, exist_ok=True)
    cols, species = plain()
    base = {n: pa.array(v, pa.float64()) for n, v in cols.items()}
    write("iris.parquet", pa.table({**base, "species": pa.array(species, pa.string())}))
    typed = {
        "sepal_length": pa.array(cols["sepal_length"], pa.float64()),
        "sepal_width": pa.array(cols["sepal_width"], pa.float32()),
        "petal_tenths": pa.array([round(v * 10) for v in cols["petal_length"]], pa.int32()),
        "petal_width_x100": pa.array([round(v * 100) for v in cols["petal_width"]], pa.int64()),
        "species": pa.array(species, pa.string()).dictionary_encode(),
    }
    write("iris_types.parquet", pa.table(typed))
    nulled = dict(base)
    values = list(cols["petal_length"])
    values[5] = None
    nulled["petal_length"] = pa.array(values, pa.float64())
    write("iris_null.parquet", pa.table({**nulled, "species": pa.array(species, pa.string())}))
    nested = dict(base)
    nested["tags"] = pa.array([[1, 2]] * len(species), pa.list_(pa.int32()))
    write("iris_nested.parquet", pa.table({**nested, "species": pa.array(species, pa.string())}))
    plain_table = pa.table({**base, "species": pa.array(species, pa.string())})
    for codec in ["zstd", "lz4", "gzip", "brotli"]:
        write(f"iris_{codec}.parquet", plain_table, codec)
    index = pa.array(list(range(1000, 1000 + len(species))), pa.int64())
    write("iris_pandas_index.parquet", plain_table.append_column("__index_level_0__", index))


if __name__ == "__main__":
    main()
