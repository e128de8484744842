"""Golden filter decisions: what DataTrove 0.10.1's filters decide on the committed documents.

Usage: golden_filters.py OUT.jsonl.gz WARC_TEXT_OUT.jsonl.gz SOURCE.jsonl.gz...

First extracts the fixture WARCs with DataTrove's WarcReader + Trafilatura (written to WARC_TEXT_OUT,
which is then one more source), then runs every filter with its defaults on every document of every
source. Each output row: source file, line number, filter, keep, reason (and the text a kept document
leaves c4_quality_filter with). Needs TROVE_ASSETS (c4_badwords lists, see `cargo xtask fixtures`)."""
import gzip
import json
import os
import sys

from datatrove.data import Document
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (
    C4BadWordsFilter,
    C4ParagraphFilter,
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    URLFilter,
)
from datatrove.pipeline.filters import c4_filters
from datatrove.pipeline.readers import WarcReader

ASSETS = os.environ["TROVE_ASSETS"]
# DataTrove downloads the LDNOOBW lists; here both tools read the same local copies.
c4_filters.cached_asset_path_or_download = lambda url, **kw: os.path.join(
    ASSETS, "c4_badwords", url.rstrip("/").split("/")[-1]
)

out_path, warc_text_path, *sources = sys.argv[1:]

extractor = Trafilatura(favour_precision=True)
with gzip.open(warc_text_path, "wt") as f:
    for doc in WarcReader("fixtures/warc", glob_pattern="*.warc.gz").run():
        text = extractor.extract(doc.text)
        if text:
            row = {"text": text, "id": doc.id, "metadata": {"url": doc.metadata.get("url")}}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
sources.append(warc_text_path)

# URLs that reach every rule of URLFilter: the extra lists below, DataTrove's word lists, hosts of
# every shape (IPs, ports, user info, case, trailing dots, public suffixes with wildcards).
URL_CASES = [
    "http://blocked-example.com/", "https://www.blocked-example.com/page", "http://a.b.blocked-example.com",
    "http://BLOCKED-EXAMPLE.COM/", "http://sub.listed-host.org/x", "http://other.listed-host.org/x",
    "http://listed-host.org/", "http://exact.example.net/path?q=1", "http://exact.example.net/path?q=2",
    "http://example.com/casino-night", "http://example.com/free/xxx/video", "http://example.com/hot/deal/now",
    "http://example.com/Hot-Deal", "http://example.com/news", "http://192.168.0.1/admin", "http://8.8.8.8:80/",
    "https://user:pw@www.shop.co.uk:8443/a", "http://www.city.kawasaki.jp/", "http://foo.bar.kawasaki.jp/",
    "http://localhost:8080/", "http://example.com./trailing", "ftp://files.example.org/pub",
    "//schemeless.example.com/x", "example.com/no-scheme", "http://[::1]/v6", "http://xn--mnchen-3ya.de/",
    "http://münchen.de/", "http://example.museum/", "http://a.example.blogspot.com/post",
]
url_cases_path = os.path.join(os.path.dirname(warc_text_path), "url-cases.jsonl.gz")
with gzip.open(url_cases_path, "wt") as f:
    for i, url in enumerate(URL_CASES):
        f.write(json.dumps({"text": "x", "id": f"url/{i}", "metadata": {"url": url}}) + "\n")
sources.append(url_cases_path)
URL_EXTRA = dict(
    extra_domains=["blocked-example.com", "sub.listed-host.org"],
    extra_urls=["http://exact.example.net/path?q=1"],
    banned_words=["nightlife"],
    soft_banned_words=["deal", "now"],
)

FILTERS = {
    "gopher_repetition_filter": GopherRepetitionFilter,
    "gopher_quality_filter": GopherQualityFilter,
    "c4_quality_filter": C4QualityFilter,
    "c4_quality_filter:sentences": lambda: C4QualityFilter(split_paragraph=False),
    "c4_paragraph_filter": C4ParagraphFilter,
    "c4_bad_words_filter": C4BadWordsFilter,
    "fineweb_quality_filter": FineWebQualityFilter,
    "url_filter": URLFilter,
    "url_filter:extra": lambda: URLFilter(**URL_EXTRA),
}
filters = {name: make() for name, make in FILTERS.items()}

with gzip.open(out_path, "wt") as out:
    for source in sources:
        for line_no, line in enumerate(gzip.open(source, "rt")):
            row = json.loads(line)
            for name, flt in filters.items():
                metadata = dict(row.get("metadata") or {})
                metadata.setdefault("url", row.get("id"))
                doc = Document(text=row["text"], id=str(row.get("id")), metadata=metadata)
                result = flt.filter(doc)
                keep, reason = (result, None) if isinstance(result, bool) else result
                decision = {"source": source, "line": line_no, "filter": name, "keep": bool(keep), "reason": reason}
                if keep and name.startswith("c4_quality_filter"):
                    decision["text"] = doc.text
                out.write(json.dumps(decision, ensure_ascii=False) + "\n")
