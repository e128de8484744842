"""Golden word and sentence splits: what DataTrove 0.10.1 (spaCy's blank English tokenizer and
sentencizer) makes of the committed texts. Usage: golden_words.py OUT.jsonl.gz"""
import glob
import gzip
import json
import sys

from datatrove.utils.text import split_into_sentences
from datatrove.utils.word_tokenizers import load_word_tokenizer

EDGE_CASES = [
    "gonna", "I cannot", "don't", "Mr. Smith", "10km", "$3.50", "(hello)", "well-known", "hello...", "U.S.",
    "end.", "a  b", "https://example.com/a?b=c", "😀😀", "it's", "Hello:)", "e.g.", "I'm", "we'd've", "3+4",
    "a/b", "1,000,000", "C++", "O'Neil", "ain't", "y'all", "'90s", "No.1", "£5", "5€", "-5", "a--b", "x.y",
    "ok?!", "“quoted”", "‘single’", "foo@bar.com", "#hashtag", "@user", "1.5kg", "20°C.", "U.K.", "i.e.,",
    "(see e.g. this)", "Hello!How", "A.B.C.", "That's it", "CAN'T", "Can't", "  leading", "trailing  ",
    "tab\there", "new\nline", "x\u00a0y", "👍🏽 nice", "🇫🇷 flag", "a[:]", "okay''',", "[:]", "'''",
    "The price is $5.99/kg -- or 3.2€ (approx.)!! Isn't it?", "km/h 100km/h 5m/s", "x.com/a-b_c?d=1#e",
]

tok = load_word_tokenizer("en")
texts = list(EDGE_CASES)
for i, path in enumerate(sorted(glob.glob("fixtures/python-docs/*.jsonl.gz"))):
    for j, line in enumerate(gzip.open(path, "rt")):
        if j % 5 == 0:
            texts.append(json.loads(line)["text"])
with gzip.open(sys.argv[1], "wt") as out:
    for text in texts:
        row = {"text": text, "words": tok.word_tokenize(text), "sentences": split_into_sentences(text)}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
