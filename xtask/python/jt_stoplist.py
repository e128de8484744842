"""Writes trafilatura 1.11's jusText stoplist (the union of jusText's 100 stoplists, lower-cased,
as trafilatura's bundled pickle holds it) as sorted lines to a gzip file: trove-extract's
data/jt-stopwords.txt.gz. Usage: jt_stoplist.py OUT.txt.gz"""
import gzip
import sys

from trafilatura.external import jt_stoplist_init

words = sorted(set(jt_stoplist_init()))
assert all("\n" not in w and w == w.lower() for w in words)
# mtime=0: the same input gives the same bytes.
with open(sys.argv[1], "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
    out.write(("\n".join(words) + "\n").encode("utf-8"))
print(f"{len(words)} words -> {sys.argv[1]}")
